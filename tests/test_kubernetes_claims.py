"""StatefulSets' claims across deployments: the template is never changed (pulumi-kubernetes would
replace the StatefulSet), and a size or class change is checked at preview against the sizes the
stack's last deployment recorded (its `deployed` output, read back through a StackReference) and,
for a grown claim, against the claim itself: refused with the commands that expand it until the
claim has grown, refused outright when it would shrink or change class."""

from __future__ import annotations

import pytest

from tests.harness import deploy

KEY = "kubernetesClaims"
SENTRY_POSTGRES = "sentry-postgres-postgres-0"
# The checks are the platform's, for any app's StatefulSet: shown on GlitchTip's Postgres (a smaller
# deployment than Sentry's), in namespace glitchtip.
POSTGRES = "postgres-data-postgres-0"
GLITCHTIP = {"platform": "kubernetes", "kubernetes": {"namespace": "glitchtip", "sharedStorageClass": "nfs-rwx",
                                                     "ingress": {"controllerNamespace": "ingress-nginx"}}}


def sized(size: int, **kubernetes) -> dict:
    return {**GLITCHTIP, "kubernetes": {**GLITCHTIP["kubernetes"], "volumeSizes": {"postgres-data": size}, **kubernetes}}


def recorded(size: int, storage_class=None) -> dict:
    return {"deployed": {"app": "glitchtip", "version": "6.2.6",
                         KEY: {POSTGRES: {"sizeGi": size, "storageClass": storage_class}}}}


def test_statefulsets_never_change_their_templates_and_record_their_claims(deployments):
    deployment = deployments["errors-only"]
    postgres = deployment.one("StatefulSet", "postgres")
    assert "spec.volumeClaimTemplates" in postgres.options["ignore_changes"]
    assert postgres.inputs["metadata"]["annotations"]["error-tracking/claim-sizes"] == f"{SENTRY_POSTGRES}=20Gi"
    claims = deployment.outputs["deployed"][KEY]
    assert claims[SENTRY_POSTGRES] == {"sizeGi": 20, "storageClass": None}
    assert set(claims) == {f"{v}-{s}-0" for v, s in (
        ("sentry-postgres", "postgres"), ("sentry-redis", "redis"), ("sentry-kafka", "kafka"),
        ("sentry-clickhouse", "clickhouse"), ("sentry-seaweedfs", "seaweedfs"), ("sentry-taskbroker", "taskbroker"))}


@pytest.mark.parametrize("preview", [True, False])
def test_a_grown_size_is_refused_at_preview_with_the_command_that_expands_the_claim(preview):
    with pytest.raises(Exception) as refused:
        deploy(sized(30), preview=preview, previous=recorded(20), claims={POSTGRES: "20Gi"})
    message = str(refused.value)
    assert "error-tracking:kubernetes.volumeSizes.postgres-data: 30 GiB, but claim glitchtip/" + POSTGRES in message
    assert (f"kubectl -n glitchtip patch pvc {POSTGRES} -p "
            "'{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"30Gi\"}}}}'") in message
    assert "allowVolumeExpansion" in message and "set the size back to 20" in message


def test_once_the_claim_was_expanded_by_hand_the_new_size_is_accepted_and_recorded():
    deployment = deploy(sized(30), previous=recorded(20), claims={POSTGRES: "30Gi"})
    (read,) = [r for r in deployment.reads() if r.typ == "kubernetes:core/v1:PersistentVolumeClaim"]
    assert read.resource_id == f"glitchtip/{POSTGRES}"
    assert deployment.outputs["deployed"][KEY][POSTGRES]["sizeGi"] == 30
    # the template keeps what it was created with: the engine ignores the change, nothing is replaced
    assert "spec.volumeClaimTemplates" in deployment.one("StatefulSet", "postgres").options["ignore_changes"]


def test_an_unchanged_size_reads_nothing_from_the_cluster():
    deployment = deploy(sized(20), previous=recorded(20))
    assert not [r for r in deployment.reads() if r.typ == "kubernetes:core/v1:PersistentVolumeClaim"]


def test_a_smaller_size_is_refused_claims_cannot_shrink():
    with pytest.raises(Exception, match=r"volumeSizes.postgres-data: 10 GiB, but claim glitchtip/postgres-data-"
                                         r"postgres-0 already holds 20Gi and a claim cannot shrink; set it to 20"):
        deploy(sized(10), preview=True, previous=recorded(20))


def test_a_new_storage_class_for_an_existing_claim_is_refused():
    with pytest.raises(Exception, match=r"error-tracking:kubernetes.storageClass: claim glitchtip/postgres-data-"
                                         r"postgres-0 was made with class the default and keeps it"):
        deploy(sized(20, storageClass="fast-ssd"), preview=True, previous=recorded(20))
