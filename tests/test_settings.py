"""Bad configuration is refused by name, all at once, before any resource is declared."""

import pulumi
import pytest

from components import configuration
from components.stack import preflight
from components.validation import ConfigError
from tests.harness import BASE_CONFIG, deploy


def problems(**overrides):
    """What the program refuses before any resource: the configuration, then the checks that need
    the app's description (stack.preflight)."""
    values = {**BASE_CONFIG, **overrides}
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(ConfigError) as error:
        preflight(configuration.load(values))
    return "\n".join(error.value.problems)


def test_a_valid_configuration_loads_with_documented_defaults():
    loaded = configuration.load(BASE_CONFIG)
    assert loaded.platform_settings.bind_address == "127.0.0.1"
    assert loaded.platform_settings.port == 8000
    assert loaded.app_settings.version == "6.2.6"
    assert loaded.app_settings.mode == "split"
    assert [p.name for p in loaded.projects] == ["api", "web"]


@pytest.mark.parametrize("overrides, expected", [
    ({"app": "gitlab"}, "error-tracking:app: must be one of glitchtip, sentry"),
    ({"platform": "nomad"}, "error-tracking:platform: must be one of docker, kubernetes"),
    ({"url": "errors.example.com"}, "error-tracking:url: must be an absolute URL with scheme"),
    ({"url": None}, "error-tracking:url: is required"),
    ({"adminEmail": "ops-at-example"}, "error-tracking:adminEmail: must be an email address"),
    ({"projects": [{"name": "api"}, {"name": "API"}]}, "error-tracking:projects[1].name: duplicates project \"api\""),
    ({"projects": [{"name": "api", "lang": "go"}]}, "error-tracking:projects[0].lang: unknown setting"),
    ({"projects": "api"}, "error-tracking:projects: must be a list"),
    ({"projects": []}, "error-tracking:projects: is required: a list of at least one"),
    ({"projects": None}, "error-tracking:projects: is required"),
    ({"docker": {"port": 70000}}, "error-tracking:docker.port: must be a whole number from 1 to 65535"),
    ({"docker": {"port": "http"}}, "error-tracking:docker.port: must be a whole number"),
    ({"docker": {"bindAddress": "localhost"}}, "error-tracking:docker.bindAddress: must be an IP address"),
    ({"docker": {"host": "docker.example.com"}}, "error-tracking:docker.host: must be unix://"),
    ({"docker": {"prot": 8080}}, "error-tracking:docker.prot: unknown setting; did you mean port? allowed here: "
                                 "bindAddress, host, hostPaths, namePrefix, port, sshHostKey, sshOpts"),
    ({"glitchtip": {"version": "latest"}}, "error-tracking:glitchtip.version: must be a pinned GlitchTip 6 release"),
    ({"glitchtip": {"version": "v6.2.6"}}, "error-tracking:glitchtip.version"),
    ({"glitchtip": {"mode": "single"}}, "error-tracking:glitchtip.mode: must be one of split, all-in-one"),
    ({"glitchtip": {"valkey": "yes"}}, "error-tracking:glitchtip.valkey: must be true or false"),
    ({"glitchtip": {"retentionDays": 0}}, "error-tracking:glitchtip.retentionDays: must be a whole number from 1"),
    ({"glitchtip": {"resources": {"web": {"memoryMb": 8}}}}, "error-tracking:glitchtip.resources.web.memoryMb"),
    ({"glitchtip": {"resources": {"cache": {}}}}, "error-tracking:glitchtip.resources.cache: unknown setting"),
    ({"glitchtip": {"env": {"SECRET_KEY": "x"}}}, "error-tracking:glitchtip.env.SECRET_KEY: is set by this program"),
    ({"glitchtip": {"env": {"GLITCHTIP_URL": "https://x"}}}, "error-tracking:glitchtip.env.GLITCHTIP_URL: is set by this program from url"),
    ({"glitchtip": {"env": {"APP_URL": "https://x"}}}, "error-tracking:glitchtip.env.APP_URL: is set by this program from url"),
    ({"glitchtip": {"env": {"SECRET_KEY_FILE": "/x"}}}, "error-tracking:glitchtip.env.SECRET_KEY_FILE: is set by this program"),
    ({"glitchtip": {"env": {"DATABASE_HOST": "db"}}}, "error-tracking:glitchtip.env.DATABASE_HOST: is set by this program from databaseUrl"),
    ({"glitchtip": {"env": {"REDIS_PASSWORD": "x"}}}, "error-tracking:glitchtip.env.REDIS_PASSWORD: is set by this program"),
    ({"glitchtip": {"env": {"GRANIAN_PORT": "9000"}}}, "error-tracking:glitchtip.env.GRANIAN_PORT: is set by this program"),
    ({"glitchtip": {"env": {"ENABLE_OPEN_USER_REGISTRATION": "true"}}},
     "error-tracking:glitchtip.env.ENABLE_OPEN_USER_REGISTRATION: is set by this program from glitchtip.openRegistration"),
    ({"glitchtip": {"env": {"EMAIL_HOST": "smtp"}}}, "error-tracking:glitchtip.env.EMAIL_HOST: is set by this program from glitchtip.emailUrl"),
    ({"glitchtip": {"env": {"nested": {"a": 1}}}}, "error-tracking:glitchtip.env.nested: must be a string"),
    ({"glitchtip": {"resources": {"web": {"memoryMb": 128}}}}, "error-tracking:glitchtip.resources.web.memoryMb: must be a whole number from 192"),
    ({"glitchtip": {"resources": {"postgres": {"memoryMb": 80}}}},
     "error-tracking:glitchtip.resources.postgres.memoryMb: must be at least"),
    ({"glitchtip": {"replicas": {"web": 0}}}, "error-tracking:glitchtip.replicas.web: must be a whole number from 1"),
    ({"glitchtip": {"replicas": {"worker": 3}, "maxReplicas": {"worker": 2}}},
     "error-tracking:glitchtip.maxReplicas.worker: must be a whole number from 3"),
    ({"glitchtip": {"mode": "all-in-one", "replicas": {"worker": 2}}},
     "error-tracking:glitchtip.replicas.worker: unknown setting"),
    ({"glitchtip": {"databasePoolSize": 1}}, "error-tracking:glitchtip.databasePoolSize: must be a whole number from 2"),
    ({"protect": "yes"}, "error-tracking:protect: must be true or false"),
    ({"glitchtip": {"postgresImage": "postgres:latest"}}, "error-tracking:glitchtip.postgresImage: must be an image with a pinned tag"),
    ({"backup": {"hour": 24}}, "error-tracking:backup.hour: must be a whole number from 0 to 23"),
    ({"glitchtip": {"backup": {"hour": 3}}}, "error-tracking:glitchtip.backup: moved: backups are the top-level setting"),
    ({"dsnTargets": [{"project": "nope", "envFile": {"path": "/opt/app/.env"}}]},
     'error-tracking:dsnTargets[0].project: must name a configured project (api, web), got "nope"'),
    ({"dsnTargets": [{"project": "api", "envFile": {"path": "relative/.env"}}]},
     "error-tracking:dsnTargets[0].envFile.path: must be an absolute path"),
    ({"dsnTargets": [{"project": "api"}]},
     "error-tracking:dsnTargets[0].envFile | kubernetesSecret: exactly one is required"),
    ({"dsnTargets": [{"project": "api", "envFile": {"path": "/a/.env"}, "kubernetesSecret": {"namespace": "a", "name": "b"}}]},
     "error-tracking:dsnTargets[0].envFile | kubernetesSecret: exactly one is required"),
    ({"dsnTargets": [{"project": "api", "kubernetesSecret": {"namespace": "shop", "name": "sentry"}}]},
     "error-tracking:dsnTargets[0].kubernetesSecret: needs platform: kubernetes (this stack's platform is docker)"),
    ({"dsnTargets": [{"project": "api", "envFile": {"path": "/a/.env"}}, {"project": "web", "envFile": {"path": "/a/.env"}}]},
     "error-tracking:dsnTargets[1].envFile: writes the same target as dsnTargets[0].envFile"),
    ({"dsnTargets": [{"project": "api", "envFile": {"path": "/a/.env", "key": "1X"}}]},
     "error-tracking:dsnTargets[0].envFile.key: must be an environment variable name"),
    ({"colour": "blue"}, "error-tracking:colour: unknown setting"),
])
def test_bad_input_is_refused_by_setting_name(overrides, expected):
    assert expected in problems(**overrides)


def test_every_problem_is_reported_at_once():
    found = problems(url="nope", adminEmail="nope", docker={"port": 0})
    assert "error-tracking:url" in found and "error-tracking:adminEmail" in found and "error-tracking:docker.port" in found


def test_secret_values_are_never_echoed_in_errors():
    found = problems(databaseUrl="mysql://user:TopSecret@db/x", glitchtip={"emailUrl": "smtp:/broken:TopSecret"})
    assert "error-tracking:databaseUrl" in found and "error-tracking:glitchtip.emailUrl" in found
    assert "TopSecret" not in found


def test_a_config_error_stops_the_program_before_any_resource_is_declared(monkeypatch):
    from tests import harness

    monitors = []
    original = harness.Recorder.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        monitors.append(self)

    monkeypatch.setattr(harness.Recorder, "__init__", spy)
    with pytest.raises(Exception) as error:
        deploy({"docker": {"port": 99999}})
    assert "error-tracking:docker.port" in str(error.value)
    assert isinstance(error.value, pulumi.RunError) or "RunError" in repr(error.value)
    assert monitors and monitors[-1].declared == []


def test_a_store_url_with_a_password_must_be_set_as_a_secret_and_empty_means_unset():
    found = problems(databaseUrl="postgres://gt:pw@db.internal:5432/gt")
    assert ("error-tracking:databaseUrl: holds a PostgreSQL URL with its password and is not set as a secret"
            in found and "`pulumi config set --secret --path 'databaseUrl' <value>`" in found)
    assert "pw@db" not in found
    loaded = configuration.load({**BASE_CONFIG, "databaseUrl": "postgres://gt:pw@db/gt", "valkeyUrl": ""},
                           frozenset({"databaseUrl"}))
    assert loaded.database_url == "postgres://gt:pw@db/gt" and loaded.valkey_url is None


def test_platform_keys_of_earlier_releases_say_where_they_moved():
    found = problems(platform="kubernetes", kubernetes={"web": {"replicas": 2}})
    assert "error-tracking:kubernetes.web: moved: replicas are set in the app's section" in found


def test_a_web_replica_count_the_docker_host_cannot_publish_is_refused():
    with pytest.raises(Exception) as error:
        deploy({"glitchtip": {"replicas": {"web": 2}, "resources": {"postgres": {"memoryMb": 256}}}})
    assert "error-tracking:glitchtip.replicas.web: the Docker platform publishes one web container" in str(error.value)


def test_the_program_reads_which_top_level_keys_hold_secrets_from_pulumi():
    loaded = configuration.load(BASE_CONFIG, frozenset({"glitchtip"}))
    assert loaded.is_secret("glitchtip") and not loaded.is_secret("url")
    assert loaded.app_settings.secret is True


def test_top_level_keys_are_the_stack_keys_and_every_app_and_platform_section():
    keys = configuration.top_level_keys()
    assert {"app", "platform", "url", "protect", "glitchtip", "sentry", "docker", "kubernetes"} <= set(keys)
    assert len(keys) == len(set(keys))


def test_email_alerts_need_glitchtips_smtp_settings():
    with pytest.raises(Exception) as error:
        deploy({"alerts": {"email": {"to": "ops@example.com"}}})
    assert "error-tracking:alerts.email: alerts.email needs the app's SMTP settings" in str(error.value)


def test_host_paths_must_name_a_volume_of_the_app():
    with pytest.raises(Exception) as error:
        deploy({"docker": {"hostPaths": {"backup": "/var/backups/glitchtip"}}})
    assert "error-tracking:docker.hostPaths.backup: no such volume" in str(error.value)
