"""Symbolicator's config.yml (upstream symbolicator/config.example.yml at 26.8.0).

Cache on the `/data` volume, listening on 3021 for Sentry; it sends no errors anywhere
(`sentry_dsn: null`) and reports metrics only when a statsd address is configured.
"""

from __future__ import annotations

import yaml


def symbolicator_config(ctx) -> dict:
    config = {
        "cache_dir": "/data",
        "bind": "0.0.0.0:3021",
        "logging": {"level": "warn"},
        "sentry_dsn": None,
    }
    if ctx.statsd_addr:
        config["metrics"] = {"statsd": ctx.statsd_addr, "prefix": "sentry.symbolicator"}
    return config


def render_symbolicator_config(ctx) -> str:
    return "# Rendered by error-tracking.\n" + yaml.safe_dump(symbolicator_config(ctx), sort_keys=False)
