"""Once-per-failure alerting, as pure functions over a JSON-able state.

A check's failure is alerted once it has failed `fail_after` of its last `window` runs (a target
down two checks out of three is an incident; one failed run after a restart is not); its
recovery once it has then passed `fail_after` runs in a row, so a check that flaps stays one
incident instead of a pair of alerts per flap. Recoveries are only announced for alerted
failures. Delivery (outbox.py) is separate: what is decided here is sent once to each target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Optional

PASSED, FAILED = ".", "x"


@dataclass(frozen=True)
class Result:
    """One check's outcome in one run; `detail` says what is wrong (or what is fine)."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class CheckState:
    failing: bool = False  # the latest run failed
    streak: int = 0  # consecutive failed runs
    alerted: bool = False  # a failure alert was decided for the current incident
    since: float = 0.0  # when the current incident's first failure happened (epoch seconds)
    detail: str = ""
    history: str = ""  # the latest runs, oldest first: FAILED or PASSED each


@dataclass(frozen=True)
class Alert:
    check: str
    kind: str  # "failing" or "recovered"
    detail: str
    since: float


def step(
    previous: Mapping[str, CheckState], results: Mapping[str, Result], now: float, fail_after: int,
    window: Optional[int] = None,
) -> tuple[dict[str, CheckState], list[Alert]]:
    """The new state and the alerts for one run. Checks no longer run are forgotten."""
    window = max(window or fail_after, fail_after)
    state: dict[str, CheckState] = {}
    alerts: list[Alert] = []
    for name in sorted(results):
        result, before = results[name], previous.get(name, CheckState())
        history = (before.history + (PASSED if result.ok else FAILED))[-window:]
        if result.ok:
            if before.alerted and not history.endswith(PASSED * fail_after):
                state[name] = CheckState(False, 0, True, before.since, before.detail, history)
                continue
            if before.alerted:
                alerts.append(Alert(name, "recovered", result.detail, before.since))
            clean = FAILED not in history
            since = 0.0 if clean or before.alerted else before.since
            state[name] = CheckState(detail=result.detail, history="" if before.alerted else history, since=since)
            continue
        streak = before.streak + 1 if before.failing else 1
        since = before.since if before.since and (before.alerted or FAILED in before.history) else now
        alert_now = history.count(FAILED) >= fail_after and not before.alerted
        if alert_now:
            alerts.append(Alert(name, "failing", result.detail, since))
        state[name] = CheckState(True, streak, before.alerted or alert_now, since, result.detail, history)
    return state, alerts


def message(site: str, alert: Alert, now: float) -> str:
    """The text every target receives."""
    if alert.kind == "failing":
        return f"[{site}] FAILING: {alert.check}: {alert.detail}"
    minutes = max(0, int((now - alert.since) // 60))
    return f"[{site}] RECOVERED: {alert.check} (after {minutes} min): {alert.detail}"


def dump(state: Mapping[str, CheckState]) -> dict:
    return {name: asdict(value) for name, value in sorted(state.items())}


def load(data: Optional[Mapping]) -> dict[str, CheckState]:
    """State from its JSON form; entries that do not read are skipped (that check starts clean).
    A state written before `history` existed gets the history its streak implies."""
    state: dict[str, CheckState] = {}
    for name, value in (data or {}).items():
        try:
            streak = int(value["streak"])
            history = value.get("history")
            if not isinstance(history, str) or set(history) - {PASSED, FAILED}:
                history = FAILED * min(streak, 60)
            state[str(name)] = CheckState(
                failing=bool(value["failing"]),
                streak=streak,
                alerted=bool(value["alerted"]),
                since=float(value["since"]),
                detail=str(value.get("detail", "")),
                history=history,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return state
