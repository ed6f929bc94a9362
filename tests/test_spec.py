"""The platform-neutral description catches its own inconsistencies, names the culprit, and gives
each platform its own view."""

import re

import pytest

from components.spec import (
    AppSpec,
    Entrypoint,
    Mount,
    Port,
    Resources,
    Schedule,
    ScheduledTask,
    Service,
    Task,
    Volume,
)

SMALL = Resources(64, 0.1)


def app(*workloads, volumes=(), **kwargs) -> AppSpec:
    services = tuple(w for w in workloads if isinstance(w, Service))
    return AppSpec(
        name="demo", version="1", services=(Service("web", "x:1", SMALL, ports=(Port(80),)), *services),
        tasks=tuple(w for w in workloads if isinstance(w, Task)),
        scheduled=tuple(w for w in workloads if isinstance(w, ScheduledTask)),
        volumes=tuple(volumes), entrypoint=Entrypoint("web", 80, "/"), **kwargs,
    )


@pytest.mark.parametrize("workloads, volumes, message", [
    ((Service("web", "x:1", SMALL),), (), "workload name 'web' is not unique"),
    ((Service("Worker", "x:1", SMALL),), (), "workload name 'Worker' is not a lower-case DNS label"),
    ((Service("worker", "x:1", SMALL, depends_on=("db",)),), (), "worker: names unknown service 'db'"),
    ((Service("worker", "x:1", SMALL, after=("migrate",)),), (), "worker: runs after unknown task 'migrate'"),
    ((Service("worker", "x:1", SMALL, mounts=(Mount("data", "/data"),)),), (), "mounts unknown volume 'data'"),
    ((Service("worker", "x:1", SMALL, mounts=(Mount("data", "data"),)),), (Volume("data", 1),),
     "path 'data' is not a normalized absolute path"),
    ((Service("worker", "x:1", SMALL, replicas=3, max_replicas=2),), (), "replicas 3 outside 1..2"),
    ((Service("db", "x:1", SMALL, stateful=True, max_replicas=None),), (), "a stateful service runs one replica"),
])
def test_an_inconsistent_description_is_refused_naming_the_culprit(workloads, volumes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        app(*workloads, volumes=volumes).validate()


def test_a_dependency_cycle_is_refused_with_its_path():
    with pytest.raises(ValueError, match="circular start order"):
        app(Service("a", "x:1", SMALL, depends_on=("b",)), Service("b", "x:1", SMALL, depends_on=("a",))).validate()


def test_start_order_puts_every_workload_after_what_it_waits_for():
    spec = app(Task("migrate", "x:1", SMALL, depends_on=("db",)), Service("db", "x:1", SMALL),
               Service("worker", "x:1", SMALL, after=("migrate",), depends_on=("db",)))
    order = [w.name for w in spec.start_order()]
    assert order.index("db") < order.index("migrate") < order.index("worker")


def test_one_name_may_have_a_form_per_platform_and_each_platform_sees_only_its_own():
    docker_form = Service("watch", "x:1", SMALL, platforms=("docker",), mounts=(Mount("state", "/state"),))
    cluster_form = ScheduledTask("watch", "x:1", SMALL, platforms=("kubernetes",), schedule=Schedule(every_minutes=5))
    spec = app(docker_form, cluster_form, volumes=(Volume("state", 1),))
    spec.validate()
    docker = spec.for_platform("docker")
    assert [s.name for s in docker.services] == ["web", "watch"] and not docker.scheduled
    cluster = spec.for_platform("kubernetes")
    assert [t.name for t in cluster.scheduled] == ["watch"] and not cluster.volumes  # only Docker's used it
    assert cluster.scheduled[0].schedule.cron == "*/5 * * * *"


def test_two_forms_for_the_same_platform_are_still_a_duplicate():
    twice = (Service("watch", "x:1", SMALL, platforms=("docker",)),
             ScheduledTask("watch", "x:1", SMALL, platforms=("docker", "kubernetes")))
    with pytest.raises(ValueError, match="workload name 'watch' is not unique"):
        app(*twice).validate()


def test_schedules_become_cron_lines():
    assert Schedule(hour=3, minute=30).cron == "30 3 * * *"
    assert Schedule(hour=5, minute=0, day_of_month=1).cron == "0 5 1 * *"


def test_a_request_below_the_limit_is_what_schedulers_reserve_and_none_means_the_limit():
    from components.platforms.docker.containers import memory_reservation
    from components.platforms.kubernetes.pods import resources

    sized = Resources(memory_mb=1536, cpu=1.0, memory_request_mb=1024, cpu_request=0.25)
    assert resources(sized) == {"limits": {"memory": "1536Mi", "cpu": "1000m"},
                                "requests": {"memory": "1024Mi", "cpu": "250m"}}
    assert memory_reservation(sized) == {"memory_reservation": 1024}
    capped = Resources(memory_mb=256, cpu=0.5)
    assert resources(capped)["requests"] == {"memory": "256Mi", "cpu": "500m"}
    assert memory_reservation(capped) == {}


@pytest.mark.parametrize("memory, cpu", [(2048, None), (None, 2.0), (0, None)])
def test_a_request_above_the_limit_is_refused(memory, cpu):
    with pytest.raises(ValueError, match="within the limit"):
        Resources(memory_mb=1024, cpu=1.0, memory_request_mb=memory, cpu_request=cpu)


# --- images to build, helpers beside a service -------------------------------------------------

def test_an_image_built_twice_or_a_helper_beside_nothing_valid_is_refused():
    from components.spec import ImageBuild

    build = ImageBuild("demo/app:1", "images/app")
    with pytest.raises(ValueError, match=re.escape("image 'demo/app:1' is built twice")):
        app(builds=(build, build)).validate()
    for helper in (Service("cleaner", "x:1", SMALL, beside="nothing"),
                   Service("cleaner", "x:1", SMALL, beside="web", ports=(Port(81),))):
        with pytest.raises(ValueError, match="cleaner: runs beside"):
            app(helper).validate()
    cache = Volume("cache", 1, data=False, local=True)
    foreign = Service("cleaner", "x:1", SMALL, beside="web", mounts=(Mount("cache", "/cache"),))
    with pytest.raises(ValueError, match="cleaner: its local volume 'cache' is not mounted by 'web'"):
        app(foreign, volumes=(cache,)).validate()


def test_a_platform_gets_the_builds_its_workloads_run_and_the_helpers_of_a_service():
    from components.spec import ImageBuild

    build = ImageBuild("demo/tool:1", "images/tool")
    tool = ScheduledTask("tool", "demo/tool:1", SMALL, platforms=("docker",))
    spec = app(tool, Service("cleaner", "x:1", SMALL, beside="web"), builds=(build,))
    spec.validate()
    assert spec.for_platform("docker").builds == (build,) and spec.for_platform("kubernetes").builds == ()
    assert spec.build_of("demo/tool:1") == build and spec.build_of("x:1") is None
    assert [s.name for s in spec.helpers_of("web")] == ["cleaner"] and spec.helpers_of("cleaner") == ()


def test_a_volume_held_by_a_service_must_be_its_stateful_mount():
    held = Volume("backups", 1, shared=True, holder="db")
    db = Service("db", "x:1", SMALL, stateful=True, mounts=(Mount("backups", "/backups"),))
    job = Task("backup", "x:1", SMALL, mounts=(Mount("backups", "/backups"),))
    app(db, job, volumes=(held,)).validate()
    for wrong in (Service("db", "x:1", SMALL, mounts=(Mount("backups", "/backups"),)),  # not stateful
                  Service("db", "x:1", SMALL, stateful=True)):  # does not mount it
        with pytest.raises(ValueError, match="volume 'backups': its holder 'db' must be a stateful service"):
            app(wrong, job, volumes=(held,)).validate()
