"""`python -m watchdog run|once|test|alive`.

run    Docker: check every WATCHDOG_INTERVAL_SECONDS, forever (the container is the loop); the
       state lives in memory too, so a lost or unwritable state file changes nothing (passes.py).
once   one pass (Kubernetes: one CronJob run); exit 1 when an alert reached no target or alerts
       were held back because the state could not be kept.
test   send a test message to every configured target; exit 1 naming each target that failed
       (run by a one-shot task whenever the targets change, so a wrong token fails `pulumi up`).
alive  the Docker health check: a pass completed within three intervals.
"""

from __future__ import annotations

import os
import sys
import time

from . import senders
from .checks import docker_checks
from .config import Config, ConfigError, from_environment
from .passes import Memory, log, one_pass
from .stores import FileState

ALIVE_FILE = os.environ.get("WATCHDOG_ALIVE_FILE", "/tmp/watchdog-alive")


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
            log(f"pass failed: {type(error).__name__}: {error}")
            return 1
    memory = Memory()
    while True:
        started = time.time()
        try:
            one_pass(config, run_checks, store, started, memory)
            with open(ALIVE_FILE, "w", encoding="utf-8") as handle:
                handle.write(str(int(time.time())))
        except Exception as error:  # noqa: BLE001 - never exit: a restart loop would repeat alerts
            # Not alive until it works again: the container's health check turns unhealthy.
            log(f"pass failed: {type(error).__name__}: {error}")
        time.sleep(max(0.0, config.interval_seconds - (time.time() - started)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
