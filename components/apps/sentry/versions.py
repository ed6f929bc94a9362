"""Upstream's upgrade hard stops, checked at preview instead of halfway through a deploy.

Self-hosted Sentry must pass through certain releases when upgrading, because their migrations
are the only ones that carry the data across (getsentry/sentry-docs
develop-docs/self-hosted/releases.mdx lists 9.1.2, 21.5.0, 21.6.3 and 23.6.2; sentry-docs PR #11605
adds 23.11.0 and 24.8.0; 25.5.1 comes from a third-party upgrade guide the issue cites, kept to be
safe). `sentry upgrade` refuses a skipped stop itself, but only once it runs, after the new images
are already rolling out. Versions
are CalVer (YY.MM.MICRO; 9.1.2 predates CalVer and still orders below every CalVer release).
"""

from __future__ import annotations

import re
from typing import Optional

HARD_STOPS = ("9.1.2", "21.5.0", "21.6.3", "23.6.2", "23.11.0", "24.8.0", "25.5.1")
SETTING = "error-tracking:sentry.version"
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def parse_version(version: str) -> tuple[int, int, int]:
    if not _VERSION.match(version or ""):
        raise ValueError(f'{SETTING}: "{version}" is not a release version like 26.8.0')
    major, minor, micro = (int(part) for part in version.split("."))
    return major, minor, micro


def upgrade_problem(deployed: Optional[str], requested: str) -> Optional[str]:
    """None when `requested` may replace `deployed`; otherwise what to do instead, naming every step.

    `deployed` is None on a first install. A downgrade is refused too: Sentry's migrations only
    run forwards, so older code would meet a newer database.
    """
    target = parse_version(requested)
    if deployed is None:
        return None
    current = parse_version(deployed)
    if target < current:
        return (
            f"{SETTING}: {requested} is older than the deployed {deployed}; Sentry's database "
            "migrations only run forwards, so a downgrade is refused (restore a backup instead)"
        )
    skipped = [stop for stop in HARD_STOPS if current < parse_version(stop) < target]
    if not skipped:
        return None
    path = " -> ".join([deployed, *skipped, requested])
    return (
        f"{SETTING}: upgrading from {deployed} to {requested} skips upstream's hard stop"
        f"{'s' if len(skipped) > 1 else ''} {', '.join(skipped)}; deploy each version in turn, "
        f"waiting for each deploy to finish: {path}"
    )
