"""Relay's config.yml (upstream relay/config.example.yml at 26.8.0), with no secret inside.

Relay resolves `${VAR}` references in any leaf value (getsentry/relay#4748, used by upstream's own
`metrics.statsd: "${RELAY_STATSD_ADDR}"`), so the Redis URL with its password and the Kafka SASL
password are references; the key pair comes from Relay's RELAY_ID / RELAY_PUBLIC_KEY /
RELAY_SECRET_KEY overrides (relay_keys.relay_env), so no credentials.json is needed.

GeoIP: upstream mounts an empty placeholder database (geoip/GeoLite2-City.mmdb.empty, a binary
file the installer copies) so Relay starts without a real one. We set `geoip_path` only when the
operator supplies a database; without it Relay simply does no IP geolocation, which is what the
empty placeholder amounts to, and no binary file has to be shipped or mounted.
"""

from __future__ import annotations

import yaml

from . import env

# Relay's own memory thresholds (getsentry/relay relay-config config.rs defaults, self-hosted#3330),
# written out so that the sizing (sizing.py: the published peak stays under both, as a share of
# the container limit Relay reads from its cgroup) cannot drift from what Relay applies: at 95%
# its health check fails and it answers 503; at 80% its envelope buffer stops dequeuing.
MAX_MEMORY_PERCENT = 0.95
MAX_BACKPRESSURE_MEMORY_PERCENT = 0.8


def relay_config(ctx) -> dict:
    kafka = [{"name": k, "value": v} for k, v in ctx.kafka.client_settings().items()]
    # Strings throughout: Relay's parameter values are strings (an integer was once refused).
    kafka.append({"name": "message.max.bytes", "value": "50000000"})
    if ctx.kafka.uses_sasl:
        kafka.append({"name": "sasl.password", "value": "${%s}" % env.KAFKA_SASL_PASSWORD})
    processing = {
        "enabled": True,
        "kafka_config": kafka,
        "redis": "${%s}" % env.RELAY_REDIS_URL,
    }
    if ctx.geoip_path:
        processing["geoip_path"] = ctx.geoip_path
    config = {
        "relay": {"upstream": f"http://{ctx.hosts.web}:9000/", "host": "0.0.0.0", "port": 3000},
        "logging": {"level": "WARN"},
        "processing": processing,
        "health": {"max_memory_percent": MAX_MEMORY_PERCENT},
        "spool": {"envelopes": {"max_backpressure_memory_percent": MAX_BACKPRESSURE_MEMORY_PERCENT}},
    }
    if ctx.statsd_addr:
        config["metrics"] = {"statsd": ctx.statsd_addr, "prefix": "sentry.relay"}
    return config


def render_relay_config(ctx) -> str:
    return "# Rendered by error-tracking; secrets are ${ENV} references.\n" + yaml.safe_dump(
        relay_config(ctx), sort_keys=False, default_flow_style=False
    )


def redis_url(host: str, port: int, password: str, db: int = 0) -> str:
    """The value for RELAY_REDIS_URL (call it inside Output.apply: the result is secret)."""
    from urllib.parse import quote

    return f"redis://:{quote(password, safe='')}@{host}:{port}/{db}"
