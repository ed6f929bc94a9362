"""Upstream's install steps (install_commands.py) as one-shot tasks, and what waits for them.

A step runs in the image and with the environment of the service it belongs to (Sentry steps as
`web`, Snuba steps as `snuba-api`), after the step before it and once the stores it needs are
healthy. Long-running services wait for the step that prepares what they use: Sentry's processes
for its migrations, Snuba's for ClickHouse's, everything else that talks to Kafka for its topics.

Upgrades stop first, as upstream's install does (install/turn-things-off.sh at 26.8.0, before any
bootstrap or migration): every one-shot task runs after `STOP_STEP`, which stops the previous
version's Sentry and Snuba processes, giving each upstream's STOP_TIMEOUT of 60 s "to ensure task
queues are properly drained between upgrades as task signatures may change across versions"
(install/_lib.sh). They come back only in the new version, after the migrations. Relay and nginx
(and the stores) keep running, as with upstream's `--minimize-downtime`: events sent meanwhile
wait in Kafka.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import pulumi

from components.apps.sentry import catalog, sizing
from components.apps.sentry.install_commands import SENTRY, SNUBA, InstallStep
from components.apps.sentry.services import INTEGRATIONS
from components.spec import Egress, Resources, Scratch, Service, StopFirst, Task

# The service a step runs as, by the image it names.
BASE = {SENTRY: "web", SNUBA: "snuba-api"}
# The step each shape of long-running service waits for.
WAITS_FOR = {catalog.SENTRY: "sentry-upgrade", catalog.SNUBA: "snuba-bootstrap"}
TOPICS_STEP = "create-kafka-topics"
# Stores and the edge: they start first and need no install step.
STORES = frozenset({"smtp", "memcached", "redis", "postgres", "pgbouncer", "kafka", "clickhouse", "seaweedfs", "nginx"})
BUCKET_CLIENT = Resources(memory_mb=256, cpu=0.2)
STOP_STEP = "stop-previous-version"
DRAIN_SECONDS = 60  # upstream's STOP_TIMEOUT
# Beside Sentry's and Snuba's own processes: the task broker and the other worker that takes
# tasks from it; they too start again only after Sentry's migrations.
STOPPED_WITH_SENTRY = frozenset({"taskbroker", "launchpad-taskworker"})
MIGRATE_STEP = "sentry-upgrade"
# The AWS CLI image sets no USER (root): it runs as nobody, its home (config, caches) on scratch.
BUCKET_CLIENT_USER = 65534


def tasks(steps: Sequence[InstallStep], services: Sequence[Service],
          secrets: Mapping[str, pulumi.Input[str]]) -> tuple[Task, ...]:
    """Each step as a Task after the one before it; `secrets` holds every secret a step names."""
    by_name = {s.name: s for s in services}
    result: list[Task] = []
    for step in steps:
        after = (result[-1].name,) if result else ()
        secret_env = {name: pulumi.Output.secret(secrets[name]) for name in step.secret_env}
        # Values from settings set as secrets travel beside the generated ones.
        secret_env.update({name: pulumi.Output.secret(step.env[name]) for name in step.sealed})
        env = {name: value for name, value in step.env.items() if name not in step.sealed}
        base = by_name.get(BASE.get(step.image, ""))
        if base is not None:
            needs = [d for d in base.depends_on if d in STORES]
            if step.name == TOPICS_STEP and "kafka" in by_name:
                needs.append("kafka")
            task = Task(
                name=step.name, image=base.image, resources=sizing.one_process(base.resources), command=step.command,
                entrypoint=step.entrypoint, env={**base.env, **env},
                secret_env={**base.secret_env, **secret_env}, files=base.files, mounts=base.mounts,
                scratch=base.scratch, depends_on=tuple(dict.fromkeys(needs)),
                connects_to=tuple(dict.fromkeys([*base.connects_to, *needs])),
                # An install step sends no notification: the base's integrations stay with it.
                egress=tuple(e for e in base.egress if e.name != INTEGRATIONS),
                run_as_user=base.run_as_user, run_as_group=base.run_as_group, after=after, reports=step.reports,
            )
        else:  # the bucket client: its own image, talking to the object store only
            store = tuple(p for p in ("seaweedfs",) if p in by_name)
            task = Task(
                name=step.name, image=step.image, resources=BUCKET_CLIENT, command=step.command,
                entrypoint=step.entrypoint, env={**env, "HOME": "/tmp"}, secret_env=secret_env,
                scratch=(Scratch("/tmp", size_mb=64),), run_as_user=BUCKET_CLIENT_USER,
                run_as_group=BUCKET_CLIENT_USER, depends_on=store,
                connects_to=store, egress=() if store else (Egress("s3", (443,)),), after=after,
                reports=step.reports,
            )
        result.append(task)
    return tuple(result)


def wait_for_steps(services: Sequence[Service], steps: Sequence[Task]) -> tuple[Service, ...]:
    """The services with `after` naming the step that prepares what they use."""
    present = {t.name for t in steps}
    result = []
    for service in services:
        step = (MIGRATE_STEP if service.name in STOPPED_WITH_SENTRY
                else WAITS_FOR.get(catalog.CATALOG[service.name].shape))
        talks_to_kafka = "kafka" in service.connects_to or any(e.name == "kafka" for e in service.egress)
        if step is None and service.name not in STORES and talks_to_kafka:
            step = TOPICS_STEP
        if step in present:
            service = dataclasses.replace(service, after=(*service.after, step))
        result.append(service)
    return tuple(result)


def stopped_first(services: Sequence[Service]) -> tuple[str, ...]:
    """The services stopped before an upgrade: what runs Sentry's or Snuba's code."""
    return tuple(s.name for s in services
                 if catalog.CATALOG[s.name].shape in (catalog.SENTRY, catalog.SNUBA) or s.name in STOPPED_WITH_SENTRY)


def stop_first(services: Sequence[Service], steps: Sequence[Task]) -> tuple[StopFirst, tuple[Service, ...],
                                                                             tuple[Task, ...]]:
    """The stop step; the services it stops given upstream's drain time; every one-shot task
    (the pre-upgrade backups, then the migrations) after it."""
    names = stopped_first(services)
    drained = tuple(dataclasses.replace(s, stop_grace_seconds=max(s.stop_grace_seconds or 0, DRAIN_SECONDS))
                    if s.name in names else s for s in services)
    after = tuple(t if t.after else dataclasses.replace(t, after=(STOP_STEP,)) for t in steps)
    return StopFirst(STOP_STEP, names), drained, after
