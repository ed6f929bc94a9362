"""What `pulumi up` declares for GlitchTip on one Docker host, proven on the real program under mocks."""

import json
import re

import pytest

from tests.harness import deploy, env_of

LONG_RUNNING = {"glitchtip-web", "glitchtip-worker", "glitchtip-postgres", "glitchtip-valkey", "glitchtip-backup",
                "glitchtip-drill"}
# Everything the operations issue adds, on: an off-site copy and a watchdog with a target.
OPERATIONS = {
    "backup": {"offsite": {"endpoint": "https://s3.example.com", "bucket": "backups", "accessKeyId": "AKIAEXAMPLE",
                           "secretAccessKey": "c2VjcmV0LWtleS1leGFtcGxl"}},
    "alerts": {"telegram": {"botToken": "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "chatId": "-100200"}},
}
# The sections above hold credentials: set with --secret, as the program demands.
CREDENTIALS = ("backup", "alerts")
# The small-host profile: everything that runs all the time on a 2 GB VPS beside the applications.
SMALL_HOST_BUDGET_MB = 768


@pytest.fixture(scope="module")
def default():
    return deploy()


def long_running(deployment):
    return {n: c for n, c in deployment.containers().items() if not c.inputs.get("attach")}


def container_urn(deployment, name):
    return deployment.containers()[name].urn


def test_split_mode_runs_web_worker_postgres_valkey_and_the_backup(default):
    assert set(long_running(default)) == LONG_RUNNING
    tasks = {n for n, c in default.containers().items() if c.inputs.get("attach")}
    assert tasks == {"glitchtip-pre-upgrade-backup", "glitchtip-migrate", "glitchtip-bootstrap"}


def test_default_limits_fit_the_small_host_profile_with_glitchtips_measured_floors(default):
    everything = long_running(deploy(OPERATIONS, secret_keys=CREDENTIALS))
    assert {"glitchtip-offsite", "glitchtip-watchdog"} <= set(everything)
    assert sum(c.inputs["memory"] for c in everything.values()) <= SMALL_HOST_BUDGET_MB
    limits = {n: c.inputs["memory"] for n, c in long_running(default).items()}
    assert limits["glitchtip-web"] >= 256 and limits["glitchtip-worker"] >= 192
    for container in default.containers().values():
        assert container.inputs["memorySwap"] == container.inputs["memory"]  # no swap beyond the limit


def test_all_in_one_is_sized_for_web_and_worker_together():
    containers = deploy({"glitchtip": {"mode": "all-in-one"}, **OPERATIONS}, secret_keys=CREDENTIALS).containers()
    assert containers["glitchtip-web"].inputs["memory"] >= 256 + 192
    assert sum(c.inputs["memory"] for c in containers.values() if not c.inputs.get("attach")) <= SMALL_HOST_BUDGET_MB


def test_every_long_running_container_restarts_rotates_logs_and_has_a_health_check(default):
    for name, container in long_running(default).items():
        assert container.inputs["restart"] == "unless-stopped", name
        assert container.inputs["logDriver"] == "json-file", name
        assert container.inputs["logOpts"] == {"max-size": "10m", "max-file": "3"}, name
        assert container.inputs["healthcheck"]["tests"][0] == "CMD", name
        assert float(container.inputs["cpus"]) > 0, name
        assert "no-new-privileges:true" in container.inputs["securityOpts"], name


def test_health_checks_are_pg_isready_authenticated_valkey_ping_and_the_web_health_endpoint(default):
    checks = {n: c.inputs["healthcheck"]["tests"][1:] for n, c in long_running(default).items()}
    assert checks["glitchtip-postgres"][0] == "pg_isready"
    assert "valkey-cli ping" in checks["glitchtip-valkey"][-1] and "PONG" in checks["glitchtip-valkey"][-1]
    assert checks["glitchtip-web"] == ["python", "healthcheck.py"]  # GETs /_health/ on 8000
    assert "/tmp/worker_health" in " ".join(checks["glitchtip-worker"])


def test_only_web_is_published_and_only_on_the_loopback_address(default):
    published = {n: c.inputs.get("ports") for n, c in default.containers().items() if c.inputs.get("ports")}
    assert list(published) == ["glitchtip-web"]
    assert published["glitchtip-web"] == [{"internal": 8000, "external": 8000, "ip": "127.0.0.1", "protocol": "tcp"}]


def test_bind_address_and_port_are_configurable():
    web = deploy({"docker": {"bindAddress": "0.0.0.0", "port": 8080}}).containers()["glitchtip-web"]
    assert web.inputs["ports"][0]["ip"] == "0.0.0.0" and web.inputs["ports"][0]["external"] == 8080


def test_images_are_the_pinned_defaults(default):
    from components.apps.glitchtip import settings as glitchtip

    images = sorted(i.inputs["name"] for i in default.of_type("docker:index/remoteImage:RemoteImage"))
    assert images == sorted([f"glitchtip/glitchtip:{glitchtip.DEFAULT_VERSION}", glitchtip.DEFAULT_POSTGRES_IMAGE,
                             glitchtip.DEFAULT_VALKEY_IMAGE])
    for image in images:
        assert re.search(r":\d+(\.\d+)+$", image), image  # a release, never latest or a bare major tag


def test_containers_share_a_private_network_and_named_volumes(default):
    network = default.of_type("docker:index/network:Network")[0].inputs["name"]
    for name, container in default.containers().items():
        assert container.inputs["networksAdvanced"][0]["name"] == network, name
    volumes = {v.inputs["name"] for v in default.of_type("docker:index/volume:Volume")}
    assert {"glitchtip-postgres-data", "glitchtip-uploads", "glitchtip-valkey-data", "glitchtip-backups"} == volumes
    mounts = {n: {m.get("volumeName"): m["containerPath"] for m in c.inputs.get("volumes", [])}
              for n, c in default.containers().items()}
    assert mounts["glitchtip-web"]["glitchtip-uploads"] == "/code/uploads"
    assert mounts["glitchtip-worker"]["glitchtip-uploads"] == "/code/uploads"
    assert mounts["glitchtip-postgres"]["glitchtip-postgres-data"] == "/var/lib/postgresql"


def test_data_volumes_are_kept_when_deleted_and_protected_when_the_stack_asks(default):
    for volume in default.of_type("docker:index/volume:Volume"):
        assert volume.options["retain_on_delete"] is True, volume.name
        assert volume.options["protect"] is False, volume.name
    protected = deploy({"protect": True}).of_type("docker:index/volume:Volume")
    assert all(v.options["protect"] for v in protected)


def test_every_docker_resource_uses_the_explicit_provider(default):
    providers = default.of_type("pulumi:providers:docker")
    assert len(providers) == 1
    assert providers[0].inputs["host"] == "unix:///var/run/docker.sock"
    for resource in default.declared:
        if resource.typ.startswith("docker:"):
            assert resource.provider and "glitchtip-docker-engine" in resource.provider, resource.name


def test_start_order_stores_healthy_then_migrations_then_web_worker_and_bootstrap(default):
    containers = default.containers()
    for store in ("glitchtip-postgres", "glitchtip-valkey"):
        assert containers[store].inputs["wait"] is True  # created only once healthy
    migrate = containers["glitchtip-migrate"]
    assert {container_urn(default, "glitchtip-postgres"), container_urn(default, "glitchtip-valkey")} \
        <= set(migrate.dependencies)
    for name in ("glitchtip-web", "glitchtip-worker", "glitchtip-bootstrap"):
        assert migrate.urn in containers[name].dependencies, name
        labels = {label["label"]: label["value"] for label in containers[name].inputs["labels"]}
        assert labels["error-tracking.after.migrate"] == "0", name  # only set once migrate exited 0
    assert migrate.inputs["command"] == ["./bin/run-migrate.sh"]
    assert migrate.inputs["mustRun"] is False and migrate.inputs["attach"] is True
    assert migrate.inputs["restart"] == "no"


def test_a_failed_migration_stops_the_deployment_with_its_name():
    with pytest.raises(Exception) as error:
        deploy(failing_task="migrate")
    assert "task migrate exited with code 1" in str(error.value)
    assert "pulumi up --replace" in str(error.value)


def test_the_bootstrap_report_and_environments_are_secret_outputs_of_the_task(default):
    bootstrap = default.containers()["glitchtip-bootstrap"]
    assert bootstrap.inputs["logs"] is True
    assert {"containerLogs", "envs", "uploads"} <= set(bootstrap.options["additional_secret_outputs"])


def test_roles_and_glitchtip_6_environment(default):
    containers = default.containers()
    web, worker = env_of(containers["glitchtip-web"]), env_of(containers["glitchtip-worker"])
    assert web["SERVER_ROLE"] == "web" and worker["SERVER_ROLE"] == "worker" and worker["IS_WORKER"] == "true"
    assert containers["glitchtip-worker"].inputs["command"][:3] == ["./manage.py", "runworker", "--scheduler"]
    assert web["GLITCHTIP_DOMAIN"] == "https://errors.example.com"
    assert web["CSRF_TRUSTED_ORIGINS"] == "https://errors.example.com"
    assert web["ENABLE_USER_REGISTRATION"] == "false" and web["ENABLE_ADMIN"] == "false"
    assert not any(key.startswith("CELERY") for key in web)


def test_every_glitchtip_process_gets_the_malloc_tuning_of_tune_malloc_sh(default):
    for name in ("glitchtip-web", "glitchtip-worker", "glitchtip-migrate", "glitchtip-bootstrap"):
        env = env_of(default.containers()[name])
        assert env["MALLOC_MMAP_THRESHOLD_"] == "65536" and env["MALLOC_TRIM_THRESHOLD_"] == "65536", name
        assert env["MALLOC_ARENA_MAX"] == "2", name  # 2 x the CPU quota, rounded up (0.5 and 0.3 CPU)
    scaled = deploy({"glitchtip": {"resources": {"worker": {"cpu": 1.5}}}}).containers()["glitchtip-worker"]
    assert env_of(scaled)["MALLOC_ARENA_MAX"] == "4"


def test_without_mail_configured_glitchtip_logs_mail_to_the_console(default):
    web = env_of(default.containers()["glitchtip-web"])
    assert web["EMAIL_URL"] == "consolemail://"


def test_under_preview_dsns_stay_unknown_instead_of_failing():
    previewed = deploy(preview=True)
    assert "dsns" not in previewed.known_outputs
    assert previewed.containers()["glitchtip-web"].inputs["ports"][0]["ip"] == "127.0.0.1"


def test_all_in_one_mode_runs_one_glitchtip_container_that_skips_its_own_migrations():
    containers = deploy({"glitchtip": {"mode": "all-in-one"}}).containers()
    assert "glitchtip-worker" not in containers
    web = env_of(containers["glitchtip-web"])
    assert web["SERVER_ROLE"] == "all_in_one" and web["SKIP_INIT"] == "true"


def test_without_valkey_glitchtip_uses_postgres_and_valkey_url_is_empty():
    containers = deploy({"glitchtip": {"valkey": False}}).containers()
    assert "glitchtip-valkey" not in containers
    web = env_of(containers["glitchtip-web"])
    assert web["VALKEY_URL"] == "" and "VALKEY_URL_FILE" not in web


def test_backup_runs_the_verified_dump_daily_at_three_with_30_day_retention(default):
    backup = default.containers()["glitchtip-backup"]
    assert '"03:00"' in backup.inputs["command"][2] and backup.inputs["command"][4:] == ["sh", "/ops/backup.sh"]
    env = env_of(backup)
    assert env["RETENTION_DAYS"] == "30" and env["PGHOST"] == "postgres" and env["PGDATABASE"] == "glitchtip"
    assert backup.secret("envs")
    assert {u["file"] for u in backup.inputs["uploads"]} >= {"/ops/backup.sh", "/ops/common.sh"}


def test_a_version_change_backs_up_before_migrations_and_the_drill_runs_monthly(default):
    containers = default.containers()
    pre_upgrade = containers["glitchtip-pre-upgrade-backup"]
    assert pre_upgrade.urn in containers["glitchtip-migrate"].dependencies
    assert env_of(pre_upgrade)["APP_VERSION"] == "6.2.6"
    assert '[ "$(date -u +%d)" = "01" ]' in containers["glitchtip-drill"].inputs["command"][2]


def test_the_watchdog_reads_the_workers_heartbeat_from_a_volume_it_owns():
    containers = deploy(OPERATIONS, secret_keys=CREDENTIALS).containers()
    worker, watchdog = containers["glitchtip-worker"], containers["glitchtip-watchdog"]
    assert worker.inputs["command"][-1] == "/run/heartbeat/worker"
    mounts = {m["volumeName"]: m for m in watchdog.inputs["volumes"]}
    assert mounts["glitchtip-heartbeat"]["readOnly"] is True and mounts["glitchtip-backups"]["readOnly"] is True
    owner = containers["glitchtip-volume-owner-heartbeat"]
    assert owner.inputs["command"] == ["chown", "5000:5000", "/volume"] and owner.urn in worker.dependencies
    assert containers["glitchtip-alert-test"].secret("envs")


def test_backups_can_go_to_a_host_directory():
    backup = deploy({"docker": {"hostPaths": {"backups": "/var/backups/gt"}}}).containers()["glitchtip-backup"]
    assert backup.inputs["volumes"] == [{"hostPath": "/var/backups/gt", "containerPath": "/backups", "readOnly": False}]


def test_ssh_docker_host_is_used_by_the_provider():
    provider = deploy({"docker": {"host": "ssh://deploy@vps.example.com", "sshOpts": ["-p", "2222"]}}).of_type(
        "pulumi:providers:docker")[0]
    assert provider.inputs["host"] == "ssh://deploy@vps.example.com"
    assert json.loads(provider.inputs["sshOpts"]) == ["-p", "2222"]  # providers take inputs as JSON


def test_two_runs_declare_identical_resources():
    def by_name(deployment):
        return sorted((d.typ, d.name, repr(d.inputs)) for d in deployment.declared)

    assert by_name(deploy(fresh=True)) == by_name(deploy(fresh=True))


def test_adding_a_project_changes_only_the_bootstrap_task_and_what_the_drill_checks():
    before = {d.name: d.inputs for d in deploy().declared}
    after = {d.name: d.inputs for d in deploy(
        {"projects": [{"name": "api", "platform": "python"}, {"name": "web", "platform": "javascript"},
                      {"name": "billing"}]}).declared}
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed == {"glitchtip-docker-bootstrap", "glitchtip-docker-drill"}
