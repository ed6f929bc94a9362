"""One pass of the watchdog: check, decide, remember, deliver, remember again.

Decisions are saved before anything is sent, so an alert goes out only once it is remembered: a
watchdog that cannot save sends nothing it would repeat on its next run. Docker's watchdog is one
long process that also remembers in memory: a lost, damaged or unwritable state file changes
nothing while it runs (the failing save is itself alerted, once, as the check `watchdog-state`).
Kubernetes' runs are separate processes with only the ConfigMap to remember: while it cannot be
read or written, a run sends one summary instead of its alerts, at once when the previous run
saved, then at most once an hour (DEGRADED_REPEAT_SECONDS), never a storm and never silence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from . import outbox, senders, state, stores
from .state import Result

DEGRADED_REPEAT_SECONDS = 3600
STATE_CHECK = "watchdog-state"


def log(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {text}", flush=True)


@dataclass
class Memory:
    """What a long-running watchdog keeps between passes."""

    document: Optional[dict] = None
    save_error: Optional[str] = None


def one_pass(config, run_checks: Callable[[float], Mapping[str, Result]], store, now: float,
             memory: Optional[Memory] = None) -> bool:
    """False when an alert reached no target in this pass (or alerts were held back)."""
    targets = config.targets()
    document, load_error = (memory.document if memory else None), None
    if document is None:
        try:
            document = store.load()
        except stores.StateError as error:
            load_error = str(error)
            log(f"cannot read the state: {load_error}")
            document = {} if memory is not None else None  # Docker: start afresh, memory from now on
    results = dict(run_checks(now))
    if memory is not None:
        results[STATE_CHECK] = (Result(False, f"the watchdog cannot save its state: {memory.save_error}")
                                if memory.save_error else Result(True, "state saved"))
    if document is None:
        return degraded(config, targets, results, now, f"cannot read its state ({load_error})", first=False)
    checks, pending, saved_at = stores.read(document)
    current, alerts = state.step(checks, results, now, config.fail_after, config.fail_window)
    _log_transitions(checks, results, alerts)
    before = outbox.for_targets(pending, targets)
    new = [state.message(config.site, alert, now) for alert in alerts]
    queue = outbox.add(before, new, targets)
    offered = before + [outbox.Pending(target, text) for text in new for target in sorted(targets)]
    for message in outbox.dropped(offered, queue):
        log(f"giving up an alert for {message.target} after {message.attempts} tries: {message.text}")

    save_error = _save(store, current, queue, now)
    if save_error and memory is None:
        first = saved_at is not None and now - saved_at <= 1.5 * config.interval_seconds
        return degraded(config, targets, results, now, f"cannot save its state ({save_error})", first)
    queue, all_delivered = send_due(queue, targets, now)
    if not save_error:
        save_error = _save(store, current, queue, now)
    if memory is not None:
        memory.document = stores.document(current, queue, now)
        if save_error != memory.save_error:
            log(f"saving the state: {save_error or 'works again'}")
        memory.save_error = save_error
    return all_delivered


def _save(store, checks, queue, now: float) -> Optional[str]:
    try:
        store.save(stores.document(checks, queue, now))
        return None
    except stores.StateError as error:
        return str(error)


def send_due(queue: list[outbox.Pending], targets: Mapping[str, senders.Sender],
             now: float) -> tuple[list[outbox.Pending], bool]:
    """Sends each target its due messages, oldest first, until one fails: that one waits its
    back-off and the target's later ones wait behind it. False when a message sent in this pass
    reached no target (it is still owed)."""
    remaining: list[outbox.Pending] = []
    stopped: set[str] = set()
    failed_texts: set[str] = set()
    for message in queue:
        if message.target in stopped or message.next_try > now:
            stopped.add(message.target)
            remaining.append(message)
            continue
        error = senders.send_one(targets[message.target], message.text, message.target)
        if error is None:
            continue
        retry = outbox.failed(message, now, error)
        log(f"alert not delivered to {message.target} (try {retry.attempts}): {error}; "
            f"next try in {int(retry.next_try - now)} s")
        remaining.append(retry)
        stopped.add(message.target)
        failed_texts.add(message.text)
    reached_none = [text for text in failed_texts
                    if all(any(m.text == text and m.target == t for m in remaining) for t in targets)]
    return remaining, not reached_none


def degraded(config, targets: Mapping[str, senders.Sender], results: Mapping[str, Result], now: float,
             reason: str, first: bool) -> bool:
    """No state to rely on: one summary now if this is the first such run, else once an hour."""
    failing = [f"{name} ({result.detail})" for name, result in sorted(results.items()) if not result.ok]
    log(f"state unavailable: {reason}; failing now: {', '.join(failing) or 'nothing'}")
    hour_turned = int(now // DEGRADED_REPEAT_SECONDS) != int((now - config.interval_seconds) // DEGRADED_REPEAT_SECONDS)
    if not (first or hour_turned):
        log("alerts held back until the state works again (a summary goes out each hour)")
        return False
    text = (f"[{config.site}] WATCHDOG DEGRADED: it {reason}, so it holds alerts back rather than repeat "
            f"them on every run; this summary repeats hourly until that is fixed. "
            f"Failing now: {'; '.join(failing) or 'nothing'}")
    for error in senders.deliver(text, dict(targets)):
        log(f"summary not delivered: {error}")
    return False


def _log_transitions(checks: Mapping[str, state.CheckState], results: Mapping[str, Result], alerts) -> None:
    for alert in alerts:
        log(f"{alert.kind}: {alert.check}: {alert.detail}")
    for name, result in results.items():
        if name not in checks or checks[name].failing != (not result.ok):
            log(f"{name}: {'ok' if result.ok else 'FAILING'}: {result.detail}")
