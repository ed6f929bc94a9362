"""DSNs: reading them from an app's bootstrap report and checking each is one an SDK can use.

A DSN is `{scheme}://{public key}@{host}[:port][/path]/{project id}` for GlitchTip and Sentry
alike; the report carries the DSN the app formed itself, and this module refuses one that does
not point at the configured `url` rather than hand a broken DSN to an application.
"""

from __future__ import annotations

import json
import re
from typing import Iterable, Mapping
from urllib.parse import urlsplit

from components.spec import report_from_output

_DSN = re.compile(r"^(?P<scheme>https?)://(?P<key>[0-9a-f]{32})@(?P<where>[^/\s]+(?:/[^\s]*)?)/(?P<project>\d+)$")


class DsnError(Exception):
    pass


def dsns_from_output(output: str, projects: Iterable[str], url: str) -> dict[str, str]:
    """project name -> DSN, from everything the bootstrap task printed."""
    return dsns_from_report(report_from_output(output), projects, url)


def dsns_from_report(report: str, projects: Iterable[str], url: str) -> dict[str, str]:
    try:
        data = json.loads(report)
        reported: Mapping[str, Mapping] = data["projects"]
    except (ValueError, KeyError, TypeError) as error:
        raise DsnError(f"the bootstrap report is not readable JSON with a projects map: {error}") from None
    expected = urlsplit(url)
    base = f"{expected.netloc}{expected.path.rstrip('/')}"
    dsns = {}
    for name in projects:
        if name not in reported:
            raise DsnError(f'the bootstrap report has no project "{name}"')
        dsn = str(reported[name].get("dsn", ""))
        match = _DSN.match(dsn)
        if not match:
            raise DsnError(f'project "{name}": the reported DSN is not of the form scheme://key@host/id')
        if match["scheme"] != expected.scheme or match["where"] != base:
            raise DsnError(
                f'project "{name}": the DSN points at {match["scheme"]}://{match["where"]}, not at {url}; '
                "check that the app's public URL setting matches `url`"
            )
        dsns[name] = dsn
    return dsns
