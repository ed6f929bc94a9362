"""`python -m watchdog run|once|test|alive`.

run    Docker: check every WATCHDOG_INTERVAL_SECONDS, forever (the container is the loop).
once   one pass (Kubernetes: one CronJob run); exit 1 when an alert reached no target.
test   send a test message to every configured target; exit 1 naming each target that failed
       (run by a one-shot task whenever the targets change, so a wrong token fails `pulumi up`).
alive  the Docker health check: a pass completed within three intervals.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Callable

from . import senders, state
from .checks import docker_checks
from .config import Config, ConfigError, from_environment

ALIVE_FILE = os.environ.get("WATCHDOG_ALIVE_FILE", "/tmp/watchdog-alive")


def log(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {text}", flush=True)


class FileState:
    """The state in a JSON file on the watchdog's own volume, replaced atomically."""

    def __init__(self, path: str):
        self.path = path

    def load(self) -> dict:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def save(self, data: dict) -> None:
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle, sort_keys=True)
        os.replace(temporary, self.path)


def one_pass(config: Config, run_checks: Callable[[float], dict], store, now: float) -> bool:
    """Check, decide, alert, remember. False when an alert reached no target."""
    previous = state.load(store.load())
    results = run_checks(now)
    current, alerts = state.step(previous, results, now, config.fail_after)
    targets = config.targets()
    all_delivered = True
    for alert in alerts:
        text = state.message(config.site, alert, now)
        errors = senders.deliver(text, targets)
        for error in errors:
            log(f"alert not delivered: {error}")
        if len(errors) == len(targets):
            all_delivered = False
            current = state.undelivered(current, alert)
        log(f"{alert.kind}: {alert.check}: {alert.detail}")
    for name, result in results.items():
        if name not in previous or previous[name].failing != (not result.ok):
            log(f"{name}: {'ok' if result.ok else 'FAILING'}: {result.detail}")
    store.save(state.dump(current))
    return all_delivered


def _checks_and_store(config: Config):
    if config.mode == "kubernetes":
        from .kubernetes import ConfigMapState, KubernetesApi, kubernetes_checks

        if not config.state_configmap:
            raise ConfigError("WATCHDOG_STATE_CONFIGMAP names the ConfigMap that keeps the state")
        api = KubernetesApi.in_cluster()
        return (lambda now: kubernetes_checks(config, api, now)), ConfigMapState(api, config.state_configmap)
    return (lambda now: docker_checks(config, now)), FileState(config.state_file)


def send_test(config: Config) -> int:
    targets = config.targets()
    if not targets:
        log("no alert target configured (alerts.telegram, alerts.webhook or alerts.email)")
        return 2
    text = f"[{config.site}] test message from the watchdog: alerts reach {', '.join(sorted(targets))}"
    errors = senders.deliver(text, targets)
    for error in errors:
        log(f"test message not delivered: {error}")
    if not errors:
        log(f"test message delivered to {', '.join(sorted(targets))}")
    return 1 if errors else 0


def alive(config: Config, now: float) -> int:
    try:
        age = now - os.stat(ALIVE_FILE).st_mtime
    except OSError:
        return 1
    return 0 if age < 3 * config.interval_seconds else 1


def main(argv: list[str]) -> int:
    command = (argv[0] if argv else "run").lstrip("-")  # `--test` works as well as `test`
    try:
        config = from_environment()
        if command == "test":
            return send_test(config)
        if command == "alive":
            return alive(config, time.time())
        if command not in ("run", "once"):
            print(__doc__, file=sys.stderr)
            return 2
        run_checks, store = _checks_and_store(config)
        config.targets()  # a malformed email URL fails here, at start, not at the first alert
    except (ConfigError, senders.SendError, OSError) as error:
        log(f"watchdog cannot start: {error}")
        return 2
    if command == "once":
        try:
            return 0 if one_pass(config, run_checks, store, time.time()) else 1
        except Exception as error:  # noqa: BLE001 - the Job's log must say why it failed
            log(f"pass failed: {error}")
            return 1
    while True:
        try:
            one_pass(config, run_checks, store, time.time())
            with open(ALIVE_FILE, "w", encoding="utf-8") as handle:
                handle.write(str(int(time.time())))
        except OSError as error:
            # Not alive until it works again: the container's health check turns unhealthy.
            log(f"pass failed: {error}")
        time.sleep(config.interval_seconds)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
