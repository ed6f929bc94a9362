"""config.yml: Sentry's options that must hold before anyone logs in (upstream config.example.yml).

Beyond upstream's file: `system.url-prefix` is the public URL (DSNs are built from it), and every
option flagged "required" is set (`system.admin-email`, `auth.allow-registration`, the two
`beacon.*` options), so the first-login setup wizard has nothing to ask. Options set here are
locked in the UI. Secrets live in sentry.conf.py (read from the environment), not here.
"""

from __future__ import annotations

import yaml


def sentry_options(ctx) -> dict:
    mail = ctx.mail
    options = {
        "system.url-prefix": ctx.url_prefix,
        "system.internal-url-prefix": f"http://{ctx.hosts.web}:9000",
        "system.admin-email": ctx.admin_email,
        "auth.allow-registration": False,
        "beacon.anonymous": True,
        "beacon.record_cpu_ram_usage": False,
        "mail.backend": "smtp",
        "mail.host": mail.host,
        "mail.port": mail.port,
        "mail.use-tls": mail.use_tls,
        "mail.use-ssl": mail.use_ssl,
        "mail.from": mail.from_address,
        "mail.list-namespace": mail.from_address.rpartition("@")[2] or "localhost",
        # The S3 file store needs its keys, so sentry.conf.py sets it: an option here would win.
        **({"filestore.backend": "filesystem", "filestore.options": {"location": "/data/files"}}
           if ctx.filestore == "filesystem" else {}),
        "dsym.cache-path": "/data/dsym-cache",
        "releasefile.cache-path": "/data/releasefile-cache",
        "symbolicator.enabled": True,
        "symbolicator.options": {"url": f"http://{ctx.hosts.symbolicator}:3021"},
        "transaction-events.force-disable-internal-project": True,
    }
    if mail.username:
        options["mail.username"] = mail.username
    return options


def render_sentry_config_yml(ctx) -> str:
    header = (
        "# Rendered by error-tracking; edits here are overwritten on the next deploy.\n"
        "# Secrets are not in this file: sentry.conf.py reads them from the environment.\n"
    )
    return header + yaml.safe_dump(sentry_options(ctx), sort_keys=False, default_flow_style=False)
