"""Where Sentry keeps event payloads and uploaded files, and what keeps an operator from losing them.

Upstream (getsentry/self-hosted 26.8.0) builds its own Sentry image, the published one plus
sentry-nodestore-s3 (sentry/Dockerfile), and keeps event payloads in SeaweedFS's `nodestore`
bucket, expiring with the event retention (install/bootstrap-s3-nodestore.sh). Here the same
image is built from images/sentry-nodestore/Dockerfile where the platform builds images (Docker);
elsewhere it is the operator's (`sentry.nodestoreImage`) or the node store stays in Postgres.
Uploaded files stay on sentry-data where every process can mount one volume (Docker, upstream's
way) and go to the S3 store otherwise, so that no ReadWriteMany volume is needed.
"""

from __future__ import annotations

from typing import Mapping, Optional

from components.spec import BUILDS_IMAGES, ImageBuild

from components.apps.sentry import catalog
from components.apps.sentry.images import IMAGES
from components.apps.sentry.settings import SentrySettings

# The build context: only the Dockerfile, kept outside the Python package; the README tells
# Kubernetes operators to build the same file for `sentry.nodestoreImage`.
NODESTORE_CONTEXT = "images/sentry-nodestore"
BUILT_IMAGE = "error-tracking/sentry-nodestore:{version}"
# Buckets on the bundled SeaweedFS: upstream's two, whose objects expire with the event
# retention, and the file store's, whose files Sentry deletes itself (never expired).
NODESTORE_BUCKET, PROFILES_BUCKET, FILES_BUCKET = "nodestore", "profiles", "files"
KEY = "error-tracking:sentry"


def sentry_image(settings: SentrySettings) -> Optional[str]:
    """The image every Sentry-shaped process runs when it is not the published one."""
    if settings.nodestore_image:
        return settings.nodestore_image
    if settings.builds_image:
        return BUILT_IMAGE.format(version=settings.version)
    return None


def image_build(settings: SentrySettings) -> Optional[ImageBuild]:
    """Upstream's image, built for the release this stack runs (its base is the build argument)."""
    if not settings.builds_image:
        return None
    return ImageBuild(
        reference=BUILT_IMAGE.format(version=settings.version),
        context=NODESTORE_CONTEXT,
        args={"SENTRY_IMAGE": IMAGES["sentry"].reference.format(version=settings.version)},
    )


def buckets(settings: SentrySettings) -> tuple[tuple[str, bool], ...]:
    """(bucket, expires) for each bucket to create on the bundled SeaweedFS (an operator's S3
    brings its own)."""
    if settings.external.s3:
        return ()
    wanted = ((NODESTORE_BUCKET, True, settings.nodestore == "s3"),
              (PROFILES_BUCKET, True, settings.profile == catalog.FEATURE_COMPLETE),
              (FILES_BUCKET, False, settings.filestore == "s3"))
    return tuple((name, expires) for name, expires, used in wanted if used)


def problems(settings: SentrySettings) -> list[str]:
    """Choices that cannot work on this platform, or settings nothing would use (before any resource)."""
    found = []
    if settings.nodestore_choice == "s3" and not settings.nodestore_image and BUILDS_IMAGES not in settings.capabilities:
        found.append(
            f"{KEY}.nodestore: s3 needs sentry-nodestore-s3 in Sentry's image, and this platform builds no "
            f"images: build {NODESTORE_CONTEXT}/Dockerfile, push it to your registry and set "
            "sentry.nodestoreImage to it (README: Sentry specifics), or leave sentry.nodestore out to keep "
            "event payloads in Postgres")
    if settings.external.s3 and not settings.uses_object_store:
        nodes = ("sentry.nodestore is postgres" if settings.nodestore_choice == "postgres" else
                 "event payloads stay in Postgres (this platform builds no Sentry image and "
                 "sentry.nodestoreImage is not set)")
        found.append(
            f"{KEY}.external.s3: nothing would use it: {nodes}, uploaded files stay on sentry-data "
            f"(sentry.filestore is filesystem) and profile {settings.profile} keeps no profiles; remove it, or "
            "set sentry.filestore to s3 (or give sentry.nodestoreImage) so that Sentry keeps data there")
    if "seaweedfs" in settings.sized and "seaweedfs" not in settings.deployed_services and not settings.external.s3:
        found.append(f"{KEY}.resources.seaweedfs: SeaweedFS is not deployed: nothing keeps data in it (event payloads "
                     f"in Postgres, files on sentry-data, profile {settings.profile}); remove the setting")
    return found


def deployed_facts(settings: SentrySettings) -> dict[str, str]:
    """What the next deployment must know of this one's data (exported with output `deployed`)."""
    return {"nodestore": settings.nodestore, "filestore": settings.filestore}


def change_problems(previous: Optional[Mapping], settings: SentrySettings) -> list[str]:
    """Moves of data that the last deployment of this stack would not survive.

    A deployment made before these facts were recorded kept files on sentry-data and payloads in
    Postgres (or in S3 with an operator's image). A new default never moves files silently: the
    operator keeps them where they are, or copies them and then says so. Payloads move to S3 by
    themselves (read and deleted through Postgres, as upstream's migration does), never back.
    """
    if not previous or previous.get("app") != "sentry":
        return []
    found = []
    files_before = previous.get("filestore") or "filesystem"
    if settings.filestore != files_before and settings.filestore_choice is None:
        keep = "pulumi config set --path sentry.filestore " + files_before
        if files_before == "filesystem":
            keep += " (on Kubernetes also kubernetes.sharedStorageClass: a ReadWriteMany class)"
        found.append(
            f"{KEY}.filestore: this stack keeps uploaded files (source maps, debug files, attachments) "
            f"{_where(files_before)}, and the default here is now {_where(settings.filestore)}, where Sentry would "
            f"not find them. Keep them where they are: `{keep}`; or copy them over first (README: Moving "
            f"Sentry's files to S3) and then set sentry.filestore: {settings.filestore}")
    if (previous.get("nodestore") or "postgres") == "s3" and settings.nodestore == "postgres":
        found.append(
            f"{KEY}.nodestore: this stack keeps event payloads in S3 (bucket {NODESTORE_BUCKET}) since an earlier "
            "deployment, and the Postgres node store cannot read them; going back is refused. Keep s3: where "
            "the platform builds no images, set sentry.nodestoreImage to an image built from "
            f"{NODESTORE_CONTEXT}/Dockerfile")
    return found


def _where(filestore: str) -> str:
    return "in the S3 store" if filestore == "s3" else "on the sentry-data volume"
