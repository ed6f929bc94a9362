"""What `pulumi up` declares for GlitchTip on one Docker host, proven on the real program under mocks."""

import re

import pytest

from components.platforms.docker.platform import TaskFailed
from tests.harness import deploy, env_of, is_wrapped_secret, unwrap

LONG_RUNNING = {"glitchtip-web", "glitchtip-worker", "glitchtip-postgres", "glitchtip-valkey", "glitchtip-backup"}


@pytest.fixture(scope="module")
def default():
    return deploy()


def long_running(deployment):
    return {n: c for n, c in deployment.containers().items() if not c.inputs.get("attach")}


def test_split_mode_runs_web_worker_postgres_valkey_and_the_backup(default):
    assert set(long_running(default)) == LONG_RUNNING
    tasks = {n for n, c in default.containers().items() if c.inputs.get("attach")}
    assert tasks == {"glitchtip-migrate", "glitchtip-bootstrap"}


def test_default_memory_limits_fit_512_mb_on_a_2_gb_vps(default):
    limits = {n: c.inputs["memory"] for n, c in long_running(default).items()}
    assert all(limit > 0 for limit in limits.values())
    assert sum(limits.values()) <= 512, limits
    for container in default.containers().values():
        assert container.inputs["memorySwap"] == container.inputs["memory"]  # no swap beyond the limit


def test_every_long_running_container_restarts_rotates_logs_and_has_a_health_check(default):
    for name, container in long_running(default).items():
        assert container.inputs["restart"] == "unless-stopped", name
        assert container.inputs["logDriver"] == "json-file", name
        assert container.inputs["logOpts"] == {"max-size": "10m", "max-file": "3"}, name
        assert container.inputs["healthcheck"]["tests"][0] == "CMD", name
        assert float(container.inputs["cpus"]) > 0, name


def test_health_checks_are_pg_isready_valkey_ping_and_the_web_health_endpoint(default):
    checks = {n: c.inputs["healthcheck"]["tests"][1:] for n, c in long_running(default).items()}
    assert checks["glitchtip-postgres"][0] == "pg_isready"
    assert checks["glitchtip-valkey"] == ["valkey-cli", "ping"]
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


def test_every_docker_resource_uses_the_explicit_provider(default):
    providers = default.of_type("pulumi:providers:docker")
    assert len(providers) == 1
    assert providers[0].inputs["host"] == "unix:///var/run/docker.sock"
    for resource in default.declared:
        if resource.typ.startswith("docker:"):
            assert resource.provider and "glitchtip-docker-engine" in resource.provider, resource.name


def test_start_order_postgres_healthy_then_migrations_then_web_and_worker(default):
    containers = default.containers()
    assert containers["glitchtip-postgres"].inputs["wait"] is True
    for name in ("glitchtip-web", "glitchtip-worker", "glitchtip-bootstrap"):
        labels = {l["label"]: l["value"] for l in containers[name].inputs["labels"]}
        assert labels["error-tracking.after.migrate"] == "0", name  # only set once migrate exited 0
    migrate = containers["glitchtip-migrate"]
    assert migrate.inputs["command"] == ["./bin/run-migrate.sh"]
    assert migrate.inputs["mustRun"] is False and migrate.inputs["attach"] is True


def test_a_failed_migration_stops_the_deployment_with_its_name():
    with pytest.raises(Exception) as error:
        deploy(failing_task="migrate")
    assert "task migrate exited with code 1" in str(error.value)


def test_roles_and_glitchtip_6_environment(default):
    containers = default.containers()
    web, worker = env_of(containers["glitchtip-web"]), env_of(containers["glitchtip-worker"])
    assert web["SERVER_ROLE"] == "web" and worker["SERVER_ROLE"] == "worker"
    assert containers["glitchtip-worker"].inputs["command"][:3] == ["./manage.py", "runworker", "--scheduler"]
    assert web["GLITCHTIP_DOMAIN"] == "https://errors.example.com"
    assert web["VALKEY_URL"] == "redis://valkey:6379/0"
    assert web["ENABLE_USER_REGISTRATION"] == "false"
    assert not any(key.startswith("CELERY") for key in web)
    assert web["DATABASE_URL"].startswith("postgres://glitchtip:") and "@postgres:5432/glitchtip" in web["DATABASE_URL"]


def test_generated_secrets_have_the_required_shape(default):
    web = env_of(default.containers()["glitchtip-web"])
    assert re.fullmatch(r"[0-9a-f]{64}", web["SECRET_KEY"])
    postgres = env_of(default.containers()["glitchtip-postgres"])
    assert re.fullmatch(r"[0-9a-f]{32}", postgres["POSTGRES_PASSWORD"])
    assert "POSTGRES_HOST_AUTH_METHOD" not in postgres  # no trust auth
    passwords = default.of_type("random:index/randomPassword:RandomPassword")
    assert {p.name for p in passwords} == {"glitchtip-secret-key", "glitchtip-postgres-password", "glitchtip-admin-password"}


def test_container_environments_holding_secrets_are_secret(default):
    for name in ("glitchtip-web", "glitchtip-worker", "glitchtip-postgres", "glitchtip-migrate", "glitchtip-bootstrap"):
        assert is_wrapped_secret(default.containers()[name].inputs["envs"]), name


def test_stack_outputs_admin_password_and_dsns_are_secret(default):
    assert {"adminPassword", "dsns"} <= default.secret_outputs
    assert "url" not in default.secret_outputs
    assert default.outputs["url"] == "https://errors.example.com"
    assert default.outputs["adminEmail"] == "ops@example.com"


def test_dsns_come_from_the_bootstrap_report_one_per_project(default):
    dsns = default.outputs["dsns"]
    assert set(dsns) == {"api", "web"}
    for dsn in dsns.values():
        assert re.fullmatch(r"https://[0-9a-f]{32}@errors\.example\.com/\d+", dsn)


def test_bootstrap_is_given_the_admin_organization_team_and_projects(default):
    env = env_of(default.containers()["glitchtip-bootstrap"])
    assert env["BOOTSTRAP_ADMIN_EMAIL"] == "ops@example.com"
    assert env["BOOTSTRAP_ORGANIZATION"] == "Acme" and env["BOOTSTRAP_TEAM"] == "acme"
    assert '"name": "api"' in env["BOOTSTRAP_PROJECTS"]
    assert len(env["BOOTSTRAP_ADMIN_PASSWORD"]) == 24


def test_under_preview_dsns_stay_unknown_instead_of_failing():
    previewed = deploy(preview=True)
    assert previewed.outputs["dsns"] is None
    assert previewed.containers()["glitchtip-web"].inputs["ports"][0]["ip"] == "127.0.0.1"


def test_all_in_one_mode_runs_one_glitchtip_container_that_skips_its_own_migrations():
    containers = deploy({"glitchtip": {"mode": "all-in-one"}}).containers()
    assert "glitchtip-worker" not in containers
    web = env_of(containers["glitchtip-web"])
    assert web["SERVER_ROLE"] == "all_in_one" and web["SKIP_INIT"] == "true"
    assert sum(c.inputs["memory"] for c in containers.values() if not c.inputs.get("attach")) <= 512


def test_without_valkey_glitchtip_uses_postgres_and_valkey_url_is_empty():
    containers = deploy({"glitchtip": {"valkey": False}}).containers()
    assert "glitchtip-valkey" not in containers
    assert env_of(containers["glitchtip-web"])["VALKEY_URL"] == ""


def test_external_database_replaces_the_postgres_container_and_stays_secret():
    url = "postgres://gt:pw@db.internal:5432/glitchtip"
    deployment = deploy({"databaseUrl": url})
    containers = deployment.containers()
    assert "glitchtip-postgres" not in containers and "glitchtip-backup" not in containers
    assert env_of(containers["glitchtip-web"])["DATABASE_URL"] == url
    assert is_wrapped_secret(containers["glitchtip-web"].inputs["envs"])


def test_email_url_is_passed_as_a_secret():
    containers = deploy({"glitchtip": {"emailUrl": "smtp+tls://u:p@smtp.example.com:587"}}).containers()
    assert env_of(containers["glitchtip-worker"])["EMAIL_URL"] == "smtp+tls://u:p@smtp.example.com:587"


def test_backup_runs_pg_dump_daily_with_an_integrity_check_and_30_day_retention(default):
    backup = default.containers()["glitchtip-backup"]
    script = " ".join(backup.inputs["command"])
    assert "pg_dump -h postgres" in script and "gzip -t" in script and "-mtime +30 -delete" in script
    assert '"03:00"' in script
    assert "PGPASSWORD" in env_of(backup)


def test_backups_can_go_to_a_host_directory():
    backup = deploy({"docker": {"hostPaths": {"backups": "/var/backups/gt"}}}).containers()["glitchtip-backup"]
    assert backup.inputs["volumes"] == [{"hostPath": "/var/backups/gt", "containerPath": "/backups", "readOnly": False}]


def test_ssh_docker_host_is_used_by_the_provider():
    provider = deploy({"docker": {"host": "ssh://deploy@vps.example.com", "sshOpts": ["-p", "2222"]}}).of_type(
        "pulumi:providers:docker")[0]
    assert provider.inputs["host"] == "ssh://deploy@vps.example.com"


def test_two_runs_declare_identical_resources():
    first, second = deploy(), deploy()
    def by_name(deployment):
        return sorted(((d.typ, d.name, repr(unwrap(d.inputs))) for d in deployment.declared))

    assert len(first.declared) == len(second.declared)
    assert by_name(first) == by_name(second)


def test_adding_a_project_changes_only_the_bootstrap_task():
    before = {d.name: unwrap(d.inputs) for d in deploy().declared}
    after = {d.name: unwrap(d.inputs) for d in deploy(
        {"projects": [{"name": "api", "platform": "python"}, {"name": "web", "platform": "javascript"}, {"name": "billing"}]}).declared}
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed == {"glitchtip-docker-bootstrap"}
