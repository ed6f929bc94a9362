"""How much memory, CPU and how many database connections GlitchTip's processes get, and why.

Defaults fit the small-host profile: a 2 GB VPS that also runs the applications being watched.
Sources of each figure:
- web 256 MB: scenario 1 measured web (granian, one worker) at 190 MiB at rest and set 256; a 5.x
  backend run here measured 187 MB idle and 212 MB after 500 events.
- worker 192 MB: scenario 1 measured 159 MiB at rest (limit 200); GlitchTip's bin/tune-malloc.sh
  reports a worker falling from 483 to 223 MB with its malloc tuning, which we apply.
- all-in-one 448 MB: web and worker in one process (GlitchTip asks 256 MB minimum, 512
  recommended for all-in-one); the two figures above added.
- postgres 128 MB: scenario 1 measured 60 MiB; shared_buffers takes a quarter and every
  connection about 2 MB (components.stores), which the connection check below keeps honest.
- valkey 32 MB: scenario 1 measured 6 MiB; maxmemory is half the limit (room for the AOF fork).
The backup, restore drill, off-site copy and watchdog containers are sized in
components.operations (measured there); with them every long-running container of the split
layout adds up to 768 MB.

Requests (what a scheduler reserves: Kubernetes requests, Docker's memory reservation) are what
each process typically uses, the limits above what it may reach:
- memory: the measurements above (web 212 MiB after 500 events, worker 159, Postgres 60, Valkey 6),
  rounded up;
- CPU: GlitchTip's own Helm chart requests 100m for web and worker (chart 5.x defaults; Red Hat's
  production deployment of 6.2.6 requests 100m for web too). Postgres and Valkey at rest: 100m and
  50m, an assumption for a small team's traffic, not a measurement.
"""

from __future__ import annotations

from typing import Mapping

from components.spec import Resources

DEFAULT_RESOURCES: Mapping[str, Mapping[str, Resources]] = {
    "split": {
        "web": Resources(memory_mb=256, cpu=0.5),
        "worker": Resources(memory_mb=192, cpu=0.3),
        "postgres": Resources(memory_mb=128, cpu=0.5),
        "valkey": Resources(memory_mb=32, cpu=0.2),
    },
    "all-in-one": {
        "web": Resources(memory_mb=448, cpu=0.8),
        "postgres": Resources(memory_mb=128, cpu=0.5),
        "valkey": Resources(memory_mb=32, cpu=0.2),
    },
}

TYPICAL: Mapping[str, Mapping[str, Resources]] = {
    "split": {
        "web": Resources(memory_mb=224, cpu=0.1),
        "worker": Resources(memory_mb=160, cpu=0.1),
        "postgres": Resources(memory_mb=64, cpu=0.1),
        "valkey": Resources(memory_mb=16, cpu=0.05),
    },
    "all-in-one": {
        "web": Resources(memory_mb=384, cpu=0.2),  # web and worker in one process
        "postgres": Resources(memory_mb=64, cpu=0.1),
        "valkey": Resources(memory_mb=16, cpu=0.05),
    },
}


def with_requests(limits: Resources, typical: Resources, memory_request_mb=None, cpu_request=None) -> Resources:
    """`limits` with requests: the operator's, else the typical use (never above the limit)."""
    return Resources(
        memory_mb=limits.memory_mb, cpu=limits.cpu,
        memory_request_mb=memory_request_mb or min(typical.memory_mb, limits.memory_mb),
        cpu_request=cpu_request or min(typical.cpu, limits.cpu),
    )


# Below these a process does not start or is killed under normal load.
MINIMUM_MEMORY_MB: Mapping[str, int] = {
    "web": 192,
    "worker": 160,
    "postgres": 64,
    "valkey": 16,
}

# One-shot tasks that may hold a pool while web and worker run (a rerun of the migration during
# an upgrade, the bootstrap), and the single connections of backup, restore drill and
# pre-upgrade backup.
TASK_POOLS = 2
SINGLE_CONNECTIONS = 3


def connections_needed(max_replicas: Mapping[str, int], *, web_workers: int, pool: int) -> int:
    """Every process's pool at the most replicas that may run, one extra replica per service for a
    rolling update (the new pod starts before the old one stops), tasks and backups."""
    processes = 0
    for service, count in max_replicas.items():
        per_replica = web_workers if service == "web" else 1
        processes += (count + 1) * per_replica
    return (processes + TASK_POOLS) * pool + SINGLE_CONNECTIONS


def malloc_tuning(cpu: float) -> dict[str, str]:
    """What GlitchTip's bin/tune-malloc.sh exports: arenas 2 x the CPU quota (rounded up), and
    mmap/trim thresholds of 64 KiB so freed memory goes back to the system."""
    cpus = max(1, int(-(-cpu // 1)))
    return {
        "MALLOC_ARENA_MAX": str(2 * cpus),
        "MALLOC_MMAP_THRESHOLD_": "65536",
        "MALLOC_TRIM_THRESHOLD_": "65536",
    }
