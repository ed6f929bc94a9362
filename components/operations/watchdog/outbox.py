"""Each alert delivered once to each target, whatever the other targets do.

A decided alert becomes one pending message per target. A target that refuses, times out or
answers garbage keeps its message and is tried again later, each failure doubling the wait
(from one minute up to an hour); the targets that took it are never sent it again. Pure
functions over a JSON-able list, kept in the watchdog's state with the checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Iterable, Mapping, Optional, Sequence

FIRST_RETRY_SECONDS = 60
LAST_RETRY_SECONDS = 3600
# A target that never answers must not grow the state for ever: its oldest messages are dropped.
MAX_PENDING_PER_TARGET = 50


@dataclass(frozen=True)
class Pending:
    target: str
    text: str
    attempts: int = 0
    next_try: float = 0.0
    error: str = ""


def add(outbox: Sequence[Pending], texts: Iterable[str], targets: Iterable[str]) -> list[Pending]:
    """The outbox with each text pending for each target, oldest first; over the limit, a target's
    oldest messages go (the watchdog logs them)."""
    result = list(outbox)
    for text in texts:
        result.extend(Pending(target, text) for target in sorted(targets))
    kept: list[Pending] = []
    for message in reversed(result):
        if sum(1 for k in kept if k.target == message.target) < MAX_PENDING_PER_TARGET:
            kept.append(message)
    return list(reversed(kept))


def dropped(before: Sequence[Pending], after: Sequence[Pending]) -> list[Pending]:
    return [m for m in before if m not in after]


def retry_in(attempts: int) -> float:
    return min(LAST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1))


def failed(message: Pending, now: float, error: str) -> Pending:
    attempts = message.attempts + 1
    return replace(message, attempts=attempts, next_try=now + retry_in(attempts), error=error)


def for_targets(outbox: Sequence[Pending], targets: Iterable[str]) -> list[Pending]:
    """Messages for targets no longer configured are dropped."""
    names = set(targets)
    return [m for m in outbox if m.target in names]


def dump(outbox: Sequence[Pending]) -> list[dict]:
    return [asdict(m) for m in outbox]


def load(data: Optional[object]) -> list[Pending]:
    result = []
    for item in data if isinstance(data, list) else []:
        try:
            if not isinstance(item, Mapping):
                continue
            result.append(Pending(str(item["target"]), str(item["text"]), int(item.get("attempts", 0)),
                                  float(item.get("next_try", 0.0)), str(item.get("error", ""))))
        except (KeyError, TypeError, ValueError):
            continue
    return result
