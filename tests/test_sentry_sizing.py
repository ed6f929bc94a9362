"""Sentry's sizing (components/apps/sentry/sizing.py): limits above what each service was seen to
use, reservations within upstream's host minimum, and the self-capping stores told their shares,
checked in the table and in what the real program declares on Docker and on Kubernetes."""

from __future__ import annotations

import re

import pytest
import yaml

from components import stores
from components.apps.sentry import catalog, sizing
from components.apps.sentry.files import relay as relay_files
from components.spec import Resources
from tests.harness import deploy
from tests.k8s_helpers import containers, pod_spec, workloads

DOCKER = {"app": "sentry", "alerts": {"webhook": {"url": "https://hooks.example.com/x"}}}
KUBERNETES = {"app": "sentry", "platform": "kubernetes", "alerts": {"webhook": {"url": "https://hooks.example.com/x"}},
              "kubernetes": {"namespace": "sentry", "ingress": {"className": "nginx",
                                                                "controllerNamespace": "ingress-nginx"}},
              "sentry": {"internalNetworks": ["10.1.0.0/16"]}}
MIB = 1 << 20


def profile_config(base: dict, profile: str) -> dict:
    return {**base, "sentry": {**base.get("sentry", {}), "profile": profile}}


def deployed(platform: str, profile: str):
    """The real program under mocks, once per configuration (the harness keeps each run)."""
    # The webhook's URL is its token: set as a secret, as the program asks.
    return deploy(profile_config(DOCKER if platform == "docker" else KUBERNETES, profile), secret_keys=("alerts",))


@pytest.fixture(scope="module", params=catalog.PROFILES)
def docker(request):
    return request.param, deployed("docker", request.param)


@pytest.fixture(scope="module", params=catalog.PROFILES)
def kubernetes(request):
    return request.param, deployed("kubernetes", request.param)


BOTH = pytest.mark.parametrize("platform", ["docker", "kubernetes"])
PROFILES = pytest.mark.parametrize("profile", catalog.PROFILES)


# --- the table ---------------------------------------------------------------------------


@pytest.mark.parametrize("profile", catalog.PROFILES)
def test_every_service_has_a_limit_1_5_times_its_published_figure_and_a_source(profile):
    table = sizing.defaults(profile)
    assert set(table) == set(catalog.service_names(profile))
    for name, size in table.items():
        assert size.memory_mb >= sizing.LIMIT_OVER_PUBLISHED * size.published_mb, name
        assert 0 < size.typical_mb <= size.memory_mb and 0 < size.typical_cpu <= size.cpu, name
        # A source per figure: the issue it comes from, or why there is none.
        assert re.search(r"#\d+", size.source) or "none published" in size.source, (name, size.source)
        if size.published_mb == 0:
            assert "none published" in size.source or "no fixed figure" in size.source, name


def test_the_published_figures_are_the_ones_the_issues_report():
    table = sizing.defaults(catalog.ERRORS_ONLY)
    assert table["web"].published_mb == pytest.approx(1.075 * 1024)  # #2539
    assert table["kafka"].published_mb == pytest.approx(1.402 * 1024)  # #2539
    assert table["attachments-consumer"].published_mb == 637.2 == table["events-consumer"].published_mb  # #2539
    assert table["relay"].published_mb == pytest.approx(1.482 * 1024)  # #3053
    assert table["snuba-errors-consumer"].published_mb == 300  # #3467
    assert table["taskworker"].published_mb == pytest.approx(1.527 * 1024)  # #1830
    assert sizing.defaults(catalog.FEATURE_COMPLETE)["generic-metrics-consumer"].typical_mb >= 407  # #2539


@pytest.mark.parametrize("profile", catalog.PROFILES)
def test_reservations_fit_the_host_minimum_with_the_operations_and_the_limits_do_not_have_to(profile):
    every = sizing.resources(profile)
    reserved = sum(r.reserved_memory_mb for r in every.values())
    assert reserved + sizing.OPERATIONS_MB <= sizing.HOST_MEMORY_MB[profile]
    assert sum(r.memory_mb for r in every.values()) > sizing.HOST_MEMORY_MB[profile]
    # CPU requests at typical use fit upstream's CPU minimum: the scheduler places every pod.
    assert sum(r.reserved_cpu for r in every.values()) <= sizing.HOST_CPUS[profile]


def test_taskworker_grows_with_its_concurrency():
    assert sizing.resources(catalog.ERRORS_ONLY)["taskworker"].memory_mb == sizing.taskworker_memory_mb(4) == 2368
    assert sizing.taskworker_memory_mb(8) > sizing.taskworker_memory_mb(4) == sizing.taskworker_memory_mb(1)
    assert sizing.floor_mb(catalog.ERRORS_ONLY, "taskworker", 8) > sizing.floor_mb(catalog.ERRORS_ONLY, "taskworker", 4)


def test_an_operators_limit_keeps_the_typical_reservation_and_swap():
    limits = sizing.resources(catalog.ERRORS_ONLY, {"web": Resources(2048, 2.0, 1200, 0.5)})
    assert limits["web"] == Resources(2048, 2.0, 1200, 0.5, swap_mb=2048)
    assert limits["relay"] == sizing.resources(catalog.ERRORS_ONLY)["relay"]


# --- Relay ---------------------------------------------------------------------------------


def test_relays_published_peak_stays_below_its_back_pressure_and_health_thresholds():
    relay = sizing.defaults(catalog.ERRORS_ONLY)["relay"]
    assert relay_files.MAX_BACKPRESSURE_MEMORY_PERCENT < relay_files.MAX_MEMORY_PERCENT
    # A burst to the largest published use neither stops its buffer nor turns it unhealthy (503).
    assert relay.published_mb < relay_files.MAX_BACKPRESSURE_MEMORY_PERCENT * relay.memory_mb


@BOTH
def test_the_rendered_relay_config_carries_the_thresholds_the_sizing_assumes(platform):
    deployment = deployed(platform, catalog.ERRORS_ONLY)
    config = yaml.safe_load(_file(deployment, platform, "relay", "/work/.relay/config.yml"))
    assert config["health"]["max_memory_percent"] == relay_files.MAX_MEMORY_PERCENT == 0.95
    assert config["spool"]["envelopes"]["max_backpressure_memory_percent"] == 0.8


# --- Valkey ----------------------------------------------------------------------------------


@BOTH
@PROFILES
def test_valkey_runs_upstreams_policy_unbounded_inside_a_limit_sized_for_it(platform, profile):
    deployment = deployed(platform, profile)
    conf = _file(deployment, platform, "redis", "/usr/local/etc/redis/redis.conf")
    assert "maxmemory 0\n" in conf and "maxmemory-policy volatile-lru" in conf
    assert _memory_limit_mb(deployment, platform, "redis") >= 1024


def test_glitchtips_valkey_keeps_its_cap():
    assert "maxmemory 64mb" in stores.valkey_config("pw", stores.valkey_maxmemory_mb(128))


# --- ClickHouse --------------------------------------------------------------------------------


@BOTH
@PROFILES
def test_clickhouse_may_use_at_least_upstreams_share_of_the_host_and_its_limit_is_above_that(platform, profile):
    deployment = deployed(platform, profile)
    xml = _file(deployment, platform, "clickhouse", "/etc/clickhouse-server/config.d/sentry.xml")
    cap = int(re.search(r"<max_server_memory_usage>(\d+)<", xml).group(1))
    host = sizing.HOST_MEMORY_MB[profile] * MIB
    assert cap >= sizing.CLICKHOUSE_HOST_SHARE * host
    assert cap + sizing.CLICKHOUSE_UNTRACKED_MB * MIB <= _memory_limit_mb(deployment, platform, "clickhouse") * MIB


# --- Postgres' shared memory -------------------------------------------------------------------


def test_postgres_gets_upstreams_shared_memory_on_docker_counted_in_its_limit(docker):
    _, deployment = docker
    postgres = deployment.containers()["sentry-postgres"].inputs
    assert postgres["shmSize"] == 256 == catalog.CATALOG["postgres"].shm_mb
    # shared_buffers (the image's 128 MB) and the whole /dev/shm fit with room for the backends.
    assert postgres["memory"] >= 128 + 256 + 100 * 4


def test_postgres_gets_a_memory_backed_dev_shm_on_kubernetes(kubernetes):
    _, deployment = kubernetes
    postgres = workloads(deployment)["postgres"]
    volumes = {v["name"]: v for v in pod_spec(postgres)["volumes"]}
    (mount,) = [m for m in containers(postgres)[0]["volumeMounts"] if m["mountPath"] == "/dev/shm"]
    assert volumes[mount["name"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "256Mi"}
    assert int(containers(postgres)[0]["resources"]["limits"]["memory"][:-2]) >= 128 + 256 + 100 * 4
    # Nothing else asks for it.
    assert [n for n, w in workloads(deployment).items()
            if any(m["mountPath"] == "/dev/shm" for c in containers(w) for m in c.get("volumeMounts", []))] == [
        "postgres"]


# --- swap and scratch space --------------------------------------------------------------------


def test_sentrys_services_keep_swap_as_upstream_and_the_operations_do_not(docker):
    _, deployment = docker
    for name, container in deployment.containers().items():
        inputs = container.inputs
        service = name.removeprefix("sentry-")
        if inputs.get("attach"):
            continue  # one-shots
        if service in catalog.CATALOG:
            assert inputs["memorySwap"] == 2 * inputs["memory"], name
        else:
            assert inputs["memorySwap"] == inputs["memory"], name


def test_glitchtip_keeps_no_swap():
    for name, container in deploy({"app": "glitchtip"}).containers().items():
        assert container.inputs["memorySwap"] == container.inputs["memory"], name


def test_uploads_in_tmp_are_on_disk_not_in_webs_memory():
    web = deployed("docker", catalog.ERRORS_ONLY).containers()["sentry-web"].inputs
    assert "/tmp" not in (web.get("tmpfs") or {})
    assert {"containerPath": "/tmp"} in web["volumes"]  # an anonymous volume, removed with the container
    on_kubernetes = deployed("kubernetes", catalog.ERRORS_ONLY)
    pod = pod_spec(workloads(on_kubernetes)["web"])
    (tmp,) = [m for m in containers(workloads(on_kubernetes)["web"])[0]["volumeMounts"] if m["mountPath"] == "/tmp"]
    volume = next(v for v in pod["volumes"] if v["name"] == tmp["name"])
    assert "medium" not in volume["emptyDir"]


# --- reservations as the platforms declare them -------------------------------------------------


def test_docker_reserves_each_services_typical_use(docker):
    profile, deployment = docker
    table = sizing.defaults(profile)
    for name, container in deployment.containers().items():
        service = name.removeprefix("sentry-")
        if service in table and service != "taskworker":
            assert container.inputs["memoryReservation"] == table[service].typical_mb, name


def test_kubernetes_requests_each_services_typical_use_and_cpu(kubernetes):
    profile, deployment = kubernetes
    table = sizing.defaults(profile)
    running = {n: w for n, w in workloads(deployment).items() if w.kind in ("Deployment", "StatefulSet")}
    for name, workload in running.items():
        if name in table and name != "taskworker":
            requests = containers(workload)[0]["resources"]["requests"]
            assert requests["memory"] == f"{table[name].typical_mb}Mi", name
            assert requests["cpu"] == f"{round(table[name].typical_cpu * 1000)}m", name
    cpu = sum(int(containers(w)[0]["resources"]["requests"]["cpu"][:-1]) for w in running.values())
    assert cpu <= sizing.HOST_CPUS[profile] * 1000


# --- helpers -------------------------------------------------------------------------------------


def _memory_limit_mb(deployment, platform: str, service: str) -> int:
    if platform == "docker":
        return deployment.containers()[f"sentry-{service}"].inputs["memory"]
    return int(containers(workloads(deployment)[service])[0]["resources"]["limits"]["memory"][:-2])


def _file(deployment, platform: str, service: str, path: str) -> str:
    """A configuration file as the service receives it: Docker's upload, Kubernetes' ConfigMap or
    Secret behind the mount at `path`."""
    if platform == "docker":
        uploads = deployment.containers()[f"sentry-{service}"].inputs["uploads"]
        return next(u["content"] for u in uploads if u["file"] == path)
    workload = workloads(deployment)[service]
    (mount,) = [m for m in containers(workload)[0]["volumeMounts"] if m["mountPath"] == path]
    volume = next(v for v in pod_spec(workload)["volumes"] if v["name"] == mount["name"])
    source = volume.get("configMap", {}).get("name") or volume["secret"]["secretName"]
    for kind, field in (("ConfigMap", "data"), ("Secret", "stringData")):
        for declared in deployment.of_kind(kind):
            if declared.object_name == source:
                return next(iter(declared.inputs[field].values()))
    raise AssertionError(f"no {source}")



