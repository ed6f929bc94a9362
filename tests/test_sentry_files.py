"""Sentry's rendered configuration files parse and hold the wired values; no secret is in them."""

import ast
import os
import sys
import types
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from unittest import mock

import pytest
import yaml

from components.apps.sentry.files import FILE_PATHS, FilesContext, Kafka, Mail, env, render_files
from components.apps.sentry.files.clickhouse import KEPT_LOG_TTL_DAYS, render_clickhouse_config, render_clickhouse_users
from components.apps.sentry.files.kafka import heap_mb, kafka_environment, retention_bytes_per_partition
from components.apps.sentry.files.relay import redis_url, render_relay_config
from components.apps.sentry.files.sentry_conf import render_sentry_conf_py
from components.apps.sentry.files.sentry_config_yml import render_sentry_config_yml
from components.apps.sentry.files.snuba_healthcheck import render_snuba_api_healthcheck
from components.apps.sentry.files.symbolicator import render_symbolicator_config
from components.apps.sentry.files.taskbroker import render_taskbroker_config

PUBLIC_KEY = "4OHi4-Tl5ufo6err7O3u7_Dx8vP09fb3-Pn6-_z9_v8"
RELAY_ID = "0b7d2b8e-6c1f-5f0e-9a55-3f8a1d2c4e5f"
SECRETS = {
    env.SECRET_KEY: "s3cret-key-value-xyz",
    env.POSTGRES_PASSWORD: "pg-password-value",
    env.REDIS_PASSWORD: "redis-password-value",
    env.MAIL_PASSWORD: "mail-password-value",
    env.KAFKA_SASL_PASSWORD: "sasl-password-value",
    env.S3_ACCESS_KEY_ID: "s3-access-key-value",
    env.S3_SECRET_ACCESS_KEY: "s3-secret-value",
}


def context(**overrides):
    defaults = dict(url="https://sentry.example.com", admin_email="ops@example.com",
                    relay_public_key=PUBLIC_KEY, relay_id=RELAY_ID)
    return FilesContext(**{**defaults, **overrides})


def load_conf(text, environ=SECRETS):
    """Execute a rendered sentry.conf.py the way Sentry does, over stand-in server defaults."""
    server = types.ModuleType("sentry.conf.server")
    server.SENTRY_OPTIONS, server.SENTRY_FEATURES, server.KAFKA_CLUSTERS = {}, {}, {}
    server.SENTRY_RELAY_WHITELIST_PK = ["SMSesqan65THCV6M4qs4kBzPai60LzuDn-xNsvYpuP8"]  # old default
    server.__all__ = ["SENTRY_OPTIONS", "SENTRY_FEATURES", "KAFKA_CLUSTERS", "SENTRY_RELAY_WHITELIST_PK"]
    modules = {"sentry": types.ModuleType("sentry"), "sentry.conf": types.ModuleType("sentry.conf"),
               "sentry.conf.server": server}
    settings = {}
    with mock.patch.dict(sys.modules, modules), mock.patch.dict(os.environ, environ, clear=True):
        exec(compile(text, "sentry.conf.py", "exec"), settings)
    return settings


def assigned_names(text, name):
    """Every statement in the module that writes `name` (assignment, augmented, method call)."""
    tree = ast.parse(text)
    writes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            writes.append(("assign", node.value))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            writes.append(("augassign", node.value))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == name):
            writes.append(("call", node))
    return writes


# sentry.conf.py ---------------------------------------------------------------------------------

def test_sentry_conf_parses_and_reads_every_secret_from_the_environment():
    ctx = context(mail=Mail(host="smtp.example.com", username="u", has_password=True),
                  kafka=Kafka(bootstrap_servers="b1:9093", security_protocol="SASL_SSL",
                              sasl_mechanism="SCRAM-SHA-512", sasl_username="sentry"),
                  nodestore="s3", profile="feature-complete")
    text = render_sentry_conf_py(ctx)
    ast.parse(text)
    for value in SECRETS.values():
        assert value not in text
    settings = load_conf(text)
    assert settings["SENTRY_OPTIONS"]["system.secret-key"] == SECRETS[env.SECRET_KEY]
    assert settings["DATABASES"]["default"]["PASSWORD"] == SECRETS[env.POSTGRES_PASSWORD]
    assert settings["SENTRY_OPTIONS"]["redis.clusters"]["default"]["hosts"][0]["password"] == SECRETS[env.REDIS_PASSWORD]
    assert settings["SENTRY_OPTIONS"]["mail.password"] == SECRETS[env.MAIL_PASSWORD]
    assert settings["KAFKA_CLUSTERS"]["default"]["sasl.password"] == SECRETS[env.KAFKA_SASL_PASSWORD]
    assert settings["SENTRY_NODESTORE_OPTIONS"]["aws_secret_access_key"] == SECRETS[env.S3_SECRET_ACCESS_KEY]
    assert settings["SENTRY_OPTIONS"]["filestore.profiles-options"]["access_key"] == SECRETS[env.S3_ACCESS_KEY_ID]


def test_sentry_conf_refuses_to_start_without_a_secret_it_needs():
    environ = {k: v for k, v in SECRETS.items() if k != env.POSTGRES_PASSWORD}
    with pytest.raises(RuntimeError, match=env.POSTGRES_PASSWORD):
        load_conf(render_sentry_conf_py(context()), environ)


def test_relay_trust_is_exactly_our_key_assigned_with_registration_closed():
    text = render_sentry_conf_py(context())
    writes = assigned_names(text, "SENTRY_RELAY_WHITELIST_PK")
    assert [kind for kind, _ in writes] == ["assign"]
    assert ast.literal_eval(writes[0][1]) == [PUBLIC_KEY]
    settings = load_conf(text)
    assert settings["SENTRY_RELAY_WHITELIST_PK"] == [PUBLIC_KEY]  # the old default key is gone
    assert settings["SENTRY_RELAY_OPEN_REGISTRATION"] is False
    assert settings["SENTRY_OPTIONS"]["relay.static_auth"] == {RELAY_ID: {"public_key": PUBLIC_KEY, "internal": True}}


def test_https_behind_a_proxy_sets_the_tls_header_secure_cookies_and_csrf_origins():
    settings = load_conf(render_sentry_conf_py(context(url="https://sentry.example.com:8443/")))
    assert settings["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert settings["CSRF_TRUSTED_ORIGINS"] == ["https://sentry.example.com:8443"]
    assert settings["SESSION_COOKIE_SECURE"] and settings["CSRF_COOKIE_SECURE"]
    plain = load_conf(render_sentry_conf_py(context(url="http://127.0.0.1:9000")))
    assert "SECURE_PROXY_SSL_HEADER" not in plain and plain["CSRF_TRUSTED_ORIGINS"] == ["http://127.0.0.1:9000"]


def test_profile_retention_and_single_organization_are_wired():
    errors_only = load_conf(render_sentry_conf_py(context(event_retention_days=30)))
    assert errors_only["SENTRY_SELF_HOSTED_ERRORS_ONLY"] is True
    assert errors_only["SENTRY_SINGLE_ORGANIZATION"] is True
    assert errors_only["SENTRY_OPTIONS"]["system.event-retention-days"] == 30
    assert "filestore.profiles-backend" not in errors_only["SENTRY_OPTIONS"]
    complete = load_conf(render_sentry_conf_py(context(profile="feature-complete")))
    assert complete["SENTRY_SELF_HOSTED_ERRORS_ONLY"] is False
    assert complete["SENTRY_OPTIONS"]["filestore.profiles-backend"] == "s3"


def test_node_store_is_postgres_unless_the_image_has_the_s3_one():
    assert load_conf(render_sentry_conf_py(context()))["SENTRY_NODESTORE"] == "sentry.nodestore.django.DjangoNodeStorage"
    s3 = load_conf(render_sentry_conf_py(context(nodestore="s3")))
    assert s3["SENTRY_NODESTORE"] == "sentry_nodestore_s3.S3PassthroughDjangoNodeStorage"
    assert s3["SENTRY_NODESTORE_OPTIONS"]["read_through"] is True


def test_databases_go_through_pgbouncer_and_kafka_settings_reach_every_client():
    settings = load_conf(render_sentry_conf_py(context()))
    assert settings["DATABASES"]["default"]["HOST"] == "pgbouncer"
    assert settings["KAFKA_CLUSTERS"]["default"]["bootstrap.servers"] == "kafka:9092"
    assert "sasl.password" not in settings["KAFKA_CLUSTERS"]["default"]
    assert settings["SENTRY_EVENTSTREAM_OPTIONS"]["producer_configuration"] is settings["DEFAULT_KAFKA_OPTIONS"]


def test_internal_networks_are_the_platforms_when_given_and_the_containers_own_otherwise():
    given = load_conf(render_sentry_conf_py(context(internal_networks=("172.30.0.0/24",))))
    assert given["INTERNAL_SYSTEM_IPS"] == ("172.30.0.0/24",)
    own = load_conf(render_sentry_conf_py(context()))["INTERNAL_SYSTEM_IPS"]
    assert isinstance(own, tuple) and "10.0.0.0/8" not in own and "127.0.0.0/8" not in own


def test_geoip_stays_off_without_a_database():
    assert "GEOIP_PATH_MMDB" not in load_conf(render_sentry_conf_py(context()))
    with_db = load_conf(render_sentry_conf_py(context(geoip_path="/geoip/GeoLite2-City.mmdb")))
    assert with_db["GEOIP_PATH_MMDB"] == "/geoip/GeoLite2-City.mmdb"


# config.yml -------------------------------------------------------------------------------------

def test_config_yml_sets_the_url_and_every_option_the_setup_wizard_asks_for():
    options = yaml.safe_load(render_sentry_config_yml(context(url="https://sentry.example.com/")))
    assert options["system.url-prefix"] == "https://sentry.example.com"
    assert options["system.internal-url-prefix"] == "http://web:9000"
    assert options["system.admin-email"] == "ops@example.com"
    assert options["auth.allow-registration"] is False
    assert options["beacon.anonymous"] is True and "beacon.record_cpu_ram_usage" in options
    assert options["symbolicator.options"]["url"] == "http://symbolicator:3021"
    assert not any("password" in key or "secret" in key for key in options)


# Relay, Symbolicator, taskbroker -----------------------------------------------------------------

def test_relay_config_forwards_to_web_processes_and_references_its_secrets():
    ctx = context(kafka=Kafka(bootstrap_servers="b1:9093", security_protocol="SASL_SSL",
                              sasl_mechanism="PLAIN", sasl_username="sentry"))
    config = yaml.safe_load(render_relay_config(ctx))
    assert config["relay"] == {"upstream": "http://web:9000/", "host": "0.0.0.0", "port": 3000}
    processing = config["processing"]
    assert processing["enabled"] is True and processing["redis"] == "${RELAY_REDIS_URL}"
    kafka = {p["name"]: p["value"] for p in processing["kafka_config"]}
    assert kafka["bootstrap.servers"] == "b1:9093" and kafka["sasl.password"] == "${KAFKA_SASL_PASSWORD}"
    assert all(isinstance(v, str) for v in kafka.values())
    assert "geoip_path" not in processing
    with_geoip = yaml.safe_load(render_relay_config(replace(ctx, geoip_path="/geoip/GeoLite2-City.mmdb")))
    assert with_geoip["processing"]["geoip_path"] == "/geoip/GeoLite2-City.mmdb"


def test_relay_redis_url_quotes_the_password():
    assert redis_url("redis", 6379, "p@ss/word") == "redis://:p%40ss%2Fword@redis:6379/0"


def test_symbolicator_and_taskbroker_configs_parse_with_upstreams_settings():
    symbolicator = yaml.safe_load(render_symbolicator_config(context()))
    assert symbolicator["bind"] == "0.0.0.0:3021" and symbolicator["cache_dir"] == "/data"
    assert symbolicator["sentry_dsn"] is None
    taskbroker = yaml.safe_load(render_taskbroker_config(context()))
    assert taskbroker["kafka_deadletter_topic"] == "taskworker-dlq" and taskbroker["kafka_retry_topic"] == "taskworker"
    assert taskbroker["kafka_topics"]["taskworker-dlq"]["produce_only"] is True
    raw = taskbroker["kafka_topics"]["ingest-replay-recordings"]["raw"]
    assert raw["taskname"] == "sentry.replays.tasks.process_replay_recording"
    assert raw["processing_deadline_duration"] == 90
    assert len(taskbroker["kafka_topics"]) == 9


# ClickHouse -------------------------------------------------------------------------------------

def test_clickhouse_config_caps_memory_from_the_limit_and_bounds_every_kept_system_log():
    root = ElementTree.fromstring(render_clickhouse_config(context(clickhouse_memory_limit_mb=4096)))
    assert root.tag == "clickhouse"
    assert int(root.findtext("max_server_memory_usage")) == 3072 * 1024 * 1024
    assert root.find("query_log").get("remove") == "remove"
    assert root.find("trace_log").get("remove") == "remove"
    for name, days in KEPT_LOG_TTL_DAYS.items():
        assert root.find(name).findtext("ttl") == f"event_date + INTERVAL {days} DAY DELETE"
    assert root.find("profiles/default/log_queries").text == "0"


# The system logs ClickHouse's own config.xml enables (ClickHouse/ClickHouse programs/server/config.xml, 2025).
CLICKHOUSE_DEFAULT_LOGS = (
    "query_log", "trace_log", "query_thread_log", "query_views_log", "part_log", "text_log", "metric_log",
    "latency_log", "error_log", "query_metric_log", "asynchronous_metric_log", "opentelemetry_span_log",
    "crash_log", "processors_profile_log", "asynchronous_insert_log", "backup_log", "s3queue_log",
    "blob_storage_log",
)


def test_every_system_log_clickhouse_enables_is_removed_or_expires():
    root = ElementTree.fromstring(render_clickhouse_config(context()))
    for name in CLICKHOUSE_DEFAULT_LOGS:
        element = root.find(name)
        assert element is not None, name
        assert element.get("remove") == "remove" or "INTERVAL" in element.findtext("ttl", ""), name


def test_clickhouse_default_user_password_comes_from_the_environment():
    root = ElementTree.fromstring(render_clickhouse_users())
    password = root.find("users/default/password")
    assert password.get("from_env") == env.CLICKHOUSE_DEFAULT_PASSWORD and not (password.text or "").strip()
    assert env.CLICKHOUSE_DEFAULT_PASSWORD != "CLICKHOUSE_PASSWORD"  # the image entrypoint's own variable


# Kafka ------------------------------------------------------------------------------------------

def test_kafka_runs_kraft_with_heap_from_its_limit_and_retention_bounded_in_bytes_and_hours():
    environment = kafka_environment(memory_limit_mb=1536, retention_hours=3, retention_bytes=256 * 1024 * 1024)
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert environment["KAFKA_ADVERTISED_LISTENERS"].endswith("EXTERNAL://kafka:9092")
    assert environment["KAFKA_HEAP_OPTS"] == "-Xmx384m -Xms384m"  # a quarter of the limit
    assert environment["KAFKA_LOG_RETENTION_HOURS"] == "3" == environment["KAFKA_LOG_ROLL_HOURS"]
    assert int(environment["KAFKA_LOG_RETENTION_BYTES"]) == 256 * 1024 * 1024
    assert int(environment["KAFKA_LOG_SEGMENT_BYTES"]) <= int(environment["KAFKA_LOG_RETENTION_BYTES"]) // 4
    assert all(isinstance(v, str) for v in environment.values())


def test_kafka_keeps_upstreams_broker_hours_and_no_byte_bound_unless_the_operator_sets_one():
    environment = kafka_environment(memory_limit_mb=2176)
    assert environment["KAFKA_LOG_RETENTION_HOURS"] == "3" == environment["KAFKA_LOG_ROLL_HOURS"]
    assert "KAFKA_LOG_RETENTION_BYTES" not in environment and "KAFKA_LOG_SEGMENT_BYTES" not in environment
    assert kafka_environment(2176, retention_hours=48)["KAFKA_LOG_RETENTION_HOURS"] == "48"


def test_kafka_heap_stays_within_sane_bounds_and_the_disk_budget_is_shared_by_partitions():
    assert heap_mb(300) == 256 and heap_mb(64000) == 6144
    assert retention_bytes_per_partition(10240, 100) == 10240 * 1024 * 1024 * 4 // 5 // 100
    with pytest.raises(ValueError):
        kafka_environment(1024, 0, 64 * 1024 * 1024)


# the set ----------------------------------------------------------------------------------------

def test_render_files_names_every_file_for_its_mount_path_and_none_is_secret():
    files = render_files(context())
    assert [f.name for f in files] == list(FILE_PATHS)
    assert not any(f.secret for f in files)
    assert all(path.startswith("/") for path in FILE_PATHS.values())
    ast.parse(render_snuba_api_healthcheck())


def test_bad_context_is_refused():
    with pytest.raises(ValueError, match="url"):
        context(url="sentry.example.com")
    with pytest.raises(ValueError, match="profile"):
        context(profile="full")
