"""The Docker platform realizes every part of the spec, proven with a synthetic app (not GlitchTip).

What Sentry needs and GlitchTip does not (entrypoints, open-file limits, stop grace periods,
replicas, scheduled tasks by day of month) is covered here, on the platform alone.
"""

import pulumi
import pytest

from components.platforms.docker import PLUGIN
from components.plugins import PlatformArgs
from components.spec import (
    AppSpec,
    CommandProbe,
    ConfigFile,
    Entrypoint,
    FileMount,
    HealthCheck,
    HttpProbe,
    Mount,
    Port,
    Resources,
    Schedule,
    ScheduledTask,
    Scratch,
    Service,
    Task,
    Volume,
)
from components.validation import Problems, Section
from tests.harness import env_of, run
from tests.secret_values import plain_strings

SMALL = Resources(memory_mb=64, cpu=0.1)
SECRET = "pl41n-s3cret"


def sample_spec() -> AppSpec:
    files = (
        ConfigFile("app-conf", "listen 80\n"),
        ConfigFile("app-credentials", pulumi.Output.from_input(SECRET), secret=True),
    )
    broker = Service(
        name="broker", image="example/broker:1.0", resources=SMALL, ports=(Port(9092, "kafka"),),
        ulimits={"nofile": 100000}, stop_grace_seconds=45, mounts=(Mount("broker-data", "/data"),),
        health=HealthCheck(CommandProbe(("nc", "-z", "localhost", "9092"))), stateful=True,
    )
    consumer = Service(
        name="events-consumer", image="example/app:1.0", resources=SMALL, entrypoint=("/entry.sh",),
        command=("run", "consumer"), depends_on=("broker",), connects_to=("broker",), after=("setup",),
        files=(FileMount("app-conf", "/etc/app/app.conf"), FileMount("app-credentials", "/etc/app/credentials")),
        scratch=(Scratch("/tmp", 32),), run_as_user=1000, run_as_group=1000, replicas=3, max_replicas=3,
        mounts=(Mount("heartbeat", "/run/heartbeat"),),
    )
    # One name, one form per platform: a long-running watcher here, a CronJob elsewhere.
    watcher = Service(name="watcher", image="example/app:1.0", resources=SMALL, platforms=("docker",),
                      mounts=(Mount("heartbeat", "/run/heartbeat", read_only=True),))
    watcher_elsewhere = ScheduledTask(name="watcher", image="example/app:1.0", resources=SMALL,
                                      platforms=("kubernetes",), schedule=Schedule(every_minutes=5),
                                      watches=("events-consumer",), state_object="watcher-state")
    poller = ScheduledTask(name="poller", image="example/app:1.0", resources=SMALL, command=("poll",),
                           schedule=Schedule(every_minutes=5))
    edge = Service(
        name="edge", image="example/edge:1.0", resources=SMALL, ports=(Port(80),), depends_on=("events-consumer",),
        mounts=(Mount("cache", "/var/cache/edge"),),
        health=HealthCheck(HttpProbe("/", 80, command=("curl", "-f", "http://localhost/"))),
    )
    setup = Task(name="setup", image="example/app:1.0", resources=SMALL, command=("setup",),
                 depends_on=("broker",), secret_env={"TOKEN": pulumi.Output.from_input(SECRET)})
    cleanup = ScheduledTask(
        name="cleanup", image="example/app:1.0", resources=SMALL, command=("cleanup",),
        schedule=Schedule(hour=4, minute=30, day_of_month=1),
        health=HealthCheck(CommandProbe(("test", "-f", "/data/ok"))),
    )
    return AppSpec(
        name="demo", version="1.0", services=(broker, consumer, edge, watcher), tasks=(setup,),
        scheduled=(cleanup, watcher_elsewhere, poller),
        volumes=(Volume("broker-data", 10), Volume("cache", 1, data=False),
                 Volume("heartbeat", 1, data=False, local=True, owner=1000)),
        entrypoint=Entrypoint("edge", 80, "/"), files=files,
    )


def settings(data=None):
    problems = Problems()
    parsed = PLUGIN.parse_settings(Section(data or {}, "error-tracking:docker", problems), problems)
    assert not problems.items, problems.items
    return parsed


@pytest.fixture(scope="module")
def deployed():
    spec = sample_spec()
    return run(lambda: PLUGIN.create("demo-docker", PlatformArgs(spec=spec, settings=settings(),
                                                                    url="http://localhost:8000"),
                                     pulumi.ResourceOptions()))


def test_each_replica_is_a_container_named_after_the_upstream_service(deployed):
    names = set(deployed.containers())
    assert {"demo-events-consumer", "demo-events-consumer-2", "demo-events-consumer-3"} <= names
    for name in ("demo-events-consumer", "demo-events-consumer-2"):
        aliases = deployed.containers()[name].inputs["networksAdvanced"][0]["aliases"]
        assert aliases == ["events-consumer"]  # peers reach every replica by the service name


def test_entrypoint_command_ulimits_and_stop_grace_reach_the_container(deployed):
    consumer = deployed.containers()["demo-events-consumer"]
    assert consumer.inputs["entrypoints"] == ["/entry.sh"] and consumer.inputs["command"] == ["run", "consumer"]
    broker = deployed.containers()["demo-broker"]
    assert broker.inputs["ulimits"] == [{"name": "nofile", "soft": 100000, "hard": 100000}]
    assert broker.inputs["stopTimeout"] == 45 and broker.inputs["destroyGraceSeconds"] == 45


def test_files_are_uploaded_read_only_and_secret_ones_stay_secret(deployed):
    consumer = deployed.containers()["demo-events-consumer"]
    uploads = {u["file"]: u for u in consumer.inputs["uploads"]}
    assert uploads["/etc/app/app.conf"]["content"] == "listen 80\n"
    assert uploads["/etc/app/app.conf"]["permissions"] == "0444"
    assert uploads["/etc/app/credentials"]["permissions"] == "0440"
    assert uploads["/etc/app/credentials"]["owner"] == "1000"
    assert consumer.secret("uploads")
    assert not [d.name for d in deployed.declared if any(SECRET in s for s in plain_strings(d.raw))]


def test_scratch_space_is_a_tmpfs_writable_by_the_image_user(deployed):
    assert deployed.containers()["demo-events-consumer"].inputs["tmpfs"] == {"/tmp": "size=32m,mode=1777"}


def test_dependencies_wait_for_healthy_services_and_successful_tasks(deployed):
    containers = deployed.containers()
    consumer = containers["demo-events-consumer"]
    assert containers["demo-broker"].urn in consumer.dependencies
    assert containers["demo-setup"].urn in consumer.dependencies
    assert containers["demo-broker"].inputs["wait"] is True
    labels = {label["label"]: label["value"] for label in consumer.inputs["labels"]}
    assert labels["error-tracking.after.setup"] == "0"
    # The edge waits for every replica of what it depends on.
    edge = containers["demo-edge"]
    assert {containers[f"demo-events-consumer{s}"].urn for s in ("", "-2", "-3")} <= set(edge.dependencies)


def test_a_monthly_scheduled_task_runs_on_its_day_of_the_month(deployed):
    script = deployed.containers()["demo-cleanup"].inputs["command"][2]
    assert '[ "$now" = "04:30" ]' in script and '[ "$(date -u +%d)" = "01" ]' in script
    assert deployed.containers()["demo-cleanup"].inputs["command"][4:] == ["cleanup"]


def test_only_data_volumes_are_retained_and_only_the_entrypoint_is_published(deployed):
    volumes = {v.inputs["name"]: v.options for v in deployed.of_type("docker:index/volume:Volume")}
    assert volumes["demo-broker-data"]["retain_on_delete"] is True
    assert volumes["demo-cache"]["retain_on_delete"] is False
    published = [n for n, c in deployed.containers().items() if c.inputs.get("ports")]
    assert published == ["demo-edge"]


def test_task_secrets_are_secret_in_the_container_environment(deployed):
    setup = deployed.containers()["demo-setup"]
    assert env_of(setup)["TOKEN"] == SECRET and setup.secret("envs")


def test_only_the_docker_form_of_a_workload_runs_here(deployed):
    watcher = deployed.containers()["demo-watcher"]
    assert watcher.inputs["restart"] == "unless-stopped" and "command" not in watcher.inputs


def test_a_fresh_volume_is_handed_to_its_owner_before_any_container_uses_it(deployed):
    owner = deployed.containers()["demo-volume-owner-heartbeat"]
    assert owner.inputs["command"] == ["chown", "1000:1000", "/volume"]
    assert owner.inputs["volumes"][0]["volumeName"] == "demo-heartbeat"
    for name in ("demo-events-consumer", "demo-watcher"):
        assert owner.urn in deployed.containers()[name].dependencies, name
    assert "demo-volume-owner-broker-data" not in deployed.containers()


def test_a_task_every_few_minutes_loops_with_that_pause(deployed):
    command = deployed.containers()["demo-poller"].inputs["command"]
    assert "sleep 300" in command[2] and command[4:] == ["poll"]
