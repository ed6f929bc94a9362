"""Once-per-transition alerting, as pure functions over a JSON-able state.

A check must fail `fail_after` runs in a row before its failure is alerted (a restart or a slow
first backup is not an incident); it is then alerted once, and its recovery once, only if its
failure was alerted. An alert that no target accepted is retried on the next run, never repeated
once delivered: no alert storms, no lost alert.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Mapping, Optional


@dataclass(frozen=True)
class Result:
    """One check's outcome in one run; `detail` says what is wrong (or what is fine)."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class CheckState:
    failing: bool = False
    streak: int = 0  # consecutive failed runs
    alerted: bool = False  # a failure alert was delivered for the current failure
    since: float = 0.0  # when the current failure began (epoch seconds)
    detail: str = ""


@dataclass(frozen=True)
class Alert:
    check: str
    kind: str  # "failing" or "recovered"
    detail: str
    since: float


def step(
    previous: Mapping[str, CheckState], results: Mapping[str, Result], now: float, fail_after: int
) -> tuple[dict[str, CheckState], list[Alert]]:
    """The new state and the alerts to send for one run. Checks no longer run are forgotten."""
    state: dict[str, CheckState] = {}
    alerts: list[Alert] = []
    for name in sorted(results):
        result, before = results[name], previous.get(name, CheckState())
        if result.ok:
            if before.alerted:
                alerts.append(Alert(name, "recovered", result.detail, before.since))
            state[name] = CheckState(detail=result.detail)
            continue
        streak = before.streak + 1 if before.failing else 1
        since = before.since if before.failing else now
        alert_now = streak >= fail_after and not before.alerted
        if alert_now:
            alerts.append(Alert(name, "failing", result.detail, since))
        state[name] = CheckState(True, streak, before.alerted or alert_now, since, result.detail)
    return state, alerts


def undelivered(state: Mapping[str, CheckState], alert: Alert) -> dict[str, CheckState]:
    """The state to keep when `alert` reached no target, so that the next run sends it again."""
    result = dict(state)
    current = result.get(alert.check)
    if alert.kind == "failing" and current is not None:
        result[alert.check] = replace(current, alerted=False)
    elif alert.kind == "recovered":
        # Still owed: keep the alerted failure until the recovery is delivered.
        result[alert.check] = CheckState(True, 0, True, alert.since, alert.detail)
    return result


def message(site: str, alert: Alert, now: float) -> str:
    """The text every target receives."""
    if alert.kind == "failing":
        return f"[{site}] FAILING: {alert.check}: {alert.detail}"
    minutes = max(0, int((now - alert.since) // 60))
    return f"[{site}] RECOVERED: {alert.check} (after {minutes} min): {alert.detail}"


def dump(state: Mapping[str, CheckState]) -> dict:
    return {name: asdict(value) for name, value in sorted(state.items())}


def load(data: Optional[Mapping]) -> dict[str, CheckState]:
    """State from its JSON form; anything unreadable starts clean (alerts at worst once more)."""
    state: dict[str, CheckState] = {}
    for name, value in (data or {}).items():
        try:
            state[str(name)] = CheckState(
                failing=bool(value["failing"]),
                streak=int(value["streak"]),
                alerted=bool(value["alerted"]),
                since=float(value["since"]),
                detail=str(value.get("detail", "")),
            )
        except (KeyError, TypeError, ValueError):
            continue
    return state
