"""The `sentry:` configuration section: release, profile, retention, mail, workers, Kafka,
resources, external stores and extra environment, each problem named by its full key.

It reads upstream's facts below it and nothing above: the catalog (catalog.py) decides which
names are services; sizing.py which memory figure is too low; topics.py how far a consumer may
scale; managed_env.py which variables `env` may not set. This module only reads and checks.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

from components.settings import extra_env
from components.spec import BUILDS_IMAGES, SHARES_VOLUMES, Resources
from components.validation import Problems, Section, email_problem, suggest

from components.apps.sentry import catalog, sizing, topics
from components.apps.sentry.external import External, host_problem, parse_external
from components.apps.sentry.managed_env import MANAGED_ENV

DEFAULT_VERSION = "26.8.0"
# The catalog describes this release line; another one changes the service set.
CATALOG_RELEASE = "26.8"
MAX_REPLICAS = 16
# Where event payloads (the node store) and uploaded files (the file store) live.
NODESTORES = ("s3", "postgres")
FILESTORES = ("s3", "filesystem")


@dataclass(frozen=True)
class Mail:
    host: str
    port: int
    username: Optional[str]
    password: Optional[str]  # secret
    use_tls: bool
    use_ssl: bool
    from_address: Optional[str]


@dataclass(frozen=True)
class Kafka:
    """Retention is upstream's per topic unless the operator bounds it (None: no bound); the
    ingest rate is what the Kafka volume is sized for (topics.DEFAULT_INGEST_KB_PER_SECOND)."""

    retention_hours: Optional[int] = None
    retention_mb_per_partition: Optional[int] = None
    max_poll_interval_ms: int = 300000
    ingest_kb_per_second: int = topics.DEFAULT_INGEST_KB_PER_SECOND

    @property
    def retention_bytes(self) -> Optional[int]:
        if self.retention_mb_per_partition is None:
            return None
        return self.retention_mb_per_partition * topics.MB


@dataclass(frozen=True)
class SentrySettings:
    version: str = DEFAULT_VERSION
    profile: str = catalog.ERRORS_ONLY
    event_retention_days: int = 90
    nodestore_image: Optional[str] = None
    mail: Optional[Mail] = None
    taskworker_concurrency: int = sizing.DEFAULT_TASKWORKER_CONCURRENCY
    launchpad_concurrency: int = sizing.DEFAULT_LAUNCHPAD_CONCURRENCY
    replicas: Mapping[str, int] = field(default_factory=dict)
    kafka: Kafka = Kafka()
    resources: Mapping[str, Resources] = field(default_factory=dict)
    external: External = External()
    env: Mapping[str, str] = field(default_factory=dict)
    # Set with `pulumi config set --secret` somewhere below `sentry`: free-form values (env, mail)
    # then reach the containers and files as secrets.
    secret: bool = False
    # Networks Sentry treats as internal (Symbolicator's system token must come from one). Empty:
    # the container's own networks, which on Docker is the app network; on Kubernetes a pod's
    # interface is often a /32, so set the cluster's pod CIDR there.
    internal_networks: tuple[str, ...] = ()
    # `sentry.nodestore` / `sentry.filestore` as the operator set them; None: decided below from
    # what the platform can do (`capabilities`, components.spec), which the app fills in.
    nodestore_choice: Optional[str] = None
    filestore_choice: Optional[str] = None
    capabilities: frozenset[str] = frozenset()
    # Services the operator sized (`resources.<service>`): one left out later is refused by name.
    sized: frozenset[str] = frozenset()

    @property
    def nodestore(self) -> str:
        """Where event payloads live. S3 (upstream's default since 25.10) needs sentry-nodestore-s3
        in Sentry's image: the operator's image, or the one a platform that builds images builds."""
        if self.nodestore_choice:
            return self.nodestore_choice
        return "s3" if self.nodestore_image or BUILDS_IMAGES in self.capabilities else "postgres"

    @property
    def builds_image(self) -> bool:
        """Sentry's image is built from the repository's Dockerfile (upstream's sentry/Dockerfile)."""
        return self.nodestore == "s3" and not self.nodestore_image

    @property
    def filestore(self) -> str:
        """Where uploaded files live (source maps, debug files, attachments): upstream's directory on
        sentry-data where every Sentry process can mount one volume for free (one Docker host),
        else the S3 store, so that no ReadWriteMany volume is needed."""
        if self.filestore_choice:
            return self.filestore_choice
        return "filesystem" if SHARES_VOLUMES in self.capabilities else "s3"

    @property
    def uses_object_store(self) -> bool:
        """Anything keeps data in S3: the node store, the file store or profiles (feature-complete)."""
        return self.profile == catalog.FEATURE_COMPLETE or self.nodestore == "s3" or self.filestore == "s3"

    @property
    def deployed_services(self) -> tuple[str, ...]:
        """The services this stack runs: the profile's set minus the stores that run outside, and
        minus what nothing would use (SeaweedFS without S3 data, the smtp relay when mail is external)."""
        skipped = {catalog.EXTERNAL_REPLACES[k] for k in self.external.present}
        if not self.uses_object_store:
            skipped.add("seaweedfs")
        if self.mail is not None:
            skipped.add("smtp")
        return tuple(n for n in catalog.service_names(self.profile) if n not in skipped)

    def resources_for(self, service: str) -> Resources:
        if service in self.resources:
            return self.resources[service]
        return sizing.resources(self.profile, {}, self.taskworker_concurrency)[service]


def parse_settings(section: Section, problems: Problems) -> SentrySettings:
    version = section.string("version", DEFAULT_VERSION, check=_version_problem)
    profile = section.string("profile", catalog.ERRORS_ONLY, choices=catalog.PROFILES) or catalog.ERRORS_ONLY
    retention = section.integer("eventRetentionDays", 90, minimum=1, maximum=3650)
    nodestore_image = section.string("nodestoreImage", None, check=_pinned_image)
    nodestore = section.string("nodestore", None, choices=NODESTORES)
    filestore = section.string("filestore", None, choices=FILESTORES)
    internal_networks = _networks(section, "internalNetworks")
    mail = _mail(section.section("mail")) if section.has("mail") else None
    section.raw("mail")
    external = parse_external(section.section("external"))
    present = _deployed(profile, external, mail is not None)
    workers = section.section("workers")
    concurrency = workers.integer("taskworkerConcurrency", sizing.DEFAULT_TASKWORKER_CONCURRENCY, minimum=1, maximum=32)
    launchpad = workers.integer("launchpadConcurrency", sizing.DEFAULT_LAUNCHPAD_CONCURRENCY, minimum=1, maximum=32)
    replicas = _replicas(workers.section("replicas"), profile, present)
    workers.finish()
    kafka = _kafka(section.section("kafka"))
    sizes = section.section("resources")
    resources = _resources(sizes, profile, present, concurrency)
    env = extra_env(section, {name: "the matching sentry setting" for name in MANAGED_ENV})
    section.finish()
    return SentrySettings(version, profile, retention, nodestore_image, mail, concurrency, launchpad, replicas,
                          kafka, resources, external, env, secret=section.secret,
                          internal_networks=internal_networks, nodestore_choice=nodestore, filestore_choice=filestore,
                          sized=frozenset(k for k in sizes.data if k in resources) if isinstance(sizes.data, dict)
                          else frozenset())


def _networks(section: Section, key: str) -> tuple[str, ...]:
    raw = section.raw(key, [])
    if not isinstance(raw, list):
        section.error(key, 'must be a list of CIDRs such as ["10.42.0.0/16"]')
        return ()
    found = []
    for index, value in enumerate(raw):
        try:
            found.append(str(ipaddress.ip_network(str(value), strict=False)))
        except ValueError:
            section.error(f"{key}[{index}]", f"must be a CIDR such as 10.42.0.0/16, got {value!r}")
    return tuple(found)


def _version_problem(value: str) -> Optional[str]:
    if value.lower() in ("latest", "nightly"):
        return "must be a pinned release such as 26.8.0 (moving tags change under a running deployment)"
    if not re.fullmatch(r"\d{2}\.\d{1,2}\.\d+", value):
        return "must be a CalVer release such as 26.8.0 (no 'v' prefix)"
    if not value.startswith(CATALOG_RELEASE + "."):
        return (f"must be a {CATALOG_RELEASE}.x release: the service catalog describes "
                f"getsentry/self-hosted {CATALOG_RELEASE}")
    return None


def _pinned_image(value: str) -> Optional[str]:
    name, _, tag = value.rpartition(":")
    if "@sha256:" in value:
        return None
    if not name or "/" in tag or tag in ("", "latest", "nightly"):
        return "must be an image with a pinned tag or digest (not latest or nightly)"
    return None


def _mail(section: Section) -> Mail:
    use_tls = section.boolean("useTls", False)
    use_ssl = section.boolean("useSsl", False)
    if use_tls and use_ssl:
        section.error("useSsl", "cannot be combined with useTls (STARTTLS or implicit TLS, not both)")
    default_port = 465 if use_ssl else 587 if use_tls else 25
    username = section.string("username", None)
    password = section.string("password", None, secret=True)
    if password and not username:
        section.error("password", "needs mail.username")
    mail = Mail(section.string("host", check=host_problem), section.integer("port", default_port, minimum=1,
                maximum=65535), username, password, use_tls, use_ssl, section.string("from", None, check=email_problem))
    section.finish()
    return mail


def _kafka(section: Section) -> Kafka:
    kafka = Kafka(section.integer("retentionHours", None, minimum=1, maximum=720),
                  section.integer("retentionMbPerPartition", None, minimum=16, maximum=1 << 20),
                  section.integer("maxPollIntervalMs", 300000, minimum=10000, maximum=3600000),
                  section.integer("ingestKbPerSecond", topics.DEFAULT_INGEST_KB_PER_SECOND, minimum=1,
                                  maximum=1 << 20) or topics.DEFAULT_INGEST_KB_PER_SECOND)
    section.finish()
    return kafka


def _deployed(profile: str, external: External, external_mail: bool) -> dict[str, str]:
    """Every catalog service mapped to '' when deployed, else why it is not."""
    replaced = {catalog.EXTERNAL_REPLACES[k]: f"runs outside this stack (external.{k})" for k in external.present}
    if external_mail:
        replaced["smtp"] = "is not deployed: sentry.mail sends Sentry's mail, the bundled relay is left out"
    names = set(catalog.service_names(profile))
    return {n: replaced.get(n, "") if n in names else f"is not deployed with profile {profile}"
            for n in catalog.CATALOG}


def _service_key(section: Section, key: str, present: Mapping[str, str]) -> bool:
    if key not in present:
        known = [n for n, why in present.items() if not why]
        section.error(key, f"is not a Sentry service; {suggest(str(key), known)}services: {', '.join(known)}")
        return False
    if present[key]:
        section.error(key, present[key])
        return False
    return True


def _replicas(section: Section, profile: str, present: Mapping[str, str]) -> dict[str, int]:
    replicas = {}
    for key in list(section.data):
        section.seen.add(key)
        if not _service_key(section, key, present):
            continue
        entry = catalog.CATALOG[key]
        if entry.scaling == catalog.SINGLE or entry.stateful:
            bound = 1
        elif entry.scaling == catalog.TOPIC:
            bound = topics.replica_bound(key) or MAX_REPLICAS
        else:
            bound = MAX_REPLICAS
        count = section.integer(key, 1, minimum=1, maximum=MAX_REPLICAS)
        if count is not None and count > bound:
            why = ("runs a single replica" if bound == 1 and entry.scaling != catalog.TOPIC else
                   f"is bounded by its Kafka topics ({', '.join(topics.SERVICE_TOPICS[key].consumes)}) to {bound}")
            section.error(key, f"{why}; got {count}")
        elif count is not None:
            replicas[key] = count
    return replicas


def _resources(section: Section, profile: str, present: Mapping[str, str], concurrency: int) -> dict[str, Resources]:
    """Defaults for the deployed services, overridden per service: `resources.web.memoryMb: 2048`,
    and what it reserves (`memoryRequestMb`, `cpuRequest`; by default its typical use)."""
    overrides = {}
    for key in list(section.data):
        section.seen.add(key)
        if not _service_key(section, key, present):
            continue
        item = section.section(key)
        default = sizing.resources(profile, {}, concurrency)[key]
        floor = sizing.floor_mb(profile, key, concurrency)
        memory = item.integer("memoryMb", default.memory_mb, minimum=16, maximum=262144)
        if memory is not None and memory < floor:
            item.error("memoryMb", f"is below the floor of {floor} MB for {key}, what it typically uses "
                                   f"({sizing.defaults(profile)[key].source}); got {memory}")
        memory = memory or default.memory_mb
        cpu = item.number("cpu", default.cpu, minimum=0.05, maximum=64)
        request = item.integer("memoryRequestMb", min(floor, memory), minimum=16, maximum=262144)
        if request is not None and request > memory:
            item.error("memoryRequestMb", f"must be at most memoryMb ({memory}); got {request}")
            request = memory
        cpu_request = item.number("cpuRequest", min(sizing.default_cpu_request(profile, key), cpu),
                                  minimum=0.01, maximum=64)
        if cpu_request > cpu:
            item.error("cpuRequest", f"must be at most cpu ({cpu:g}); got {cpu_request:g}")
            cpu_request = cpu
        overrides[key] = Resources(memory_mb=memory, cpu=cpu, memory_request_mb=request or memory,
                                   cpu_request=cpu_request)
        item.finish()
    every = sizing.resources(profile, overrides, concurrency)
    return {name: every[name] for name, why in present.items() if not why}
