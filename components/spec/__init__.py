"""The platform-neutral description of an app: what runs, never where.

An app (GlitchTip, Sentry) describes its services, one-shot tasks, scheduled tasks, volumes and
configuration files once, with these types; a platform (Docker, Kubernetes) realizes the
description. Neither knows the other, so a new app or a new platform is added without touching
the rest.

Three relations between workloads are kept apart on purpose:
- `depends_on`: services that must be healthy before this workload starts (order);
- `after`: tasks (or `StopFirst` steps) that must have completed successfully before it starts (order);
- `connects_to`: services it reaches over the network (reachability: network policies).
A dependency is not a network allowance, and a peer reached later is not a start dependency.

The types live in parts.py (probes, resources, volumes, files...), workloads.py (services,
tasks, scheduled tasks, stop steps, the entrypoint) and app.py (AppSpec); import them from here.
"""

from components.spec.app import (
    AppSpec,
    REPORT_PREFIX,
    report_from_output,
)
from components.spec.parts import (
    NAME,
    BUILDS_IMAGES,
    SHARES_VOLUMES,
    PYTHON_IMAGE,
    HttpProbe,
    CommandProbe,
    GrpcProbe,
    Probe,
    HealthCheck,
    Resources,
    Volume,
    ImageBuild,
    Mount,
    ConfigFile,
    FileMount,
    Scratch,
    Port,
    Egress,
    Schedule,
)
from components.spec.workloads import (
    Workload,
    Service,
    Task,
    ScheduledTask,
    StopFirst,
    Entrypoint,
)

__all__ = [
    "AppSpec",
    "BUILDS_IMAGES",
    "CommandProbe",
    "ConfigFile",
    "Egress",
    "Entrypoint",
    "FileMount",
    "GrpcProbe",
    "HealthCheck",
    "HttpProbe",
    "ImageBuild",
    "Mount",
    "NAME",
    "Port",
    "Probe",
    "REPORT_PREFIX",
    "Resources",
    "PYTHON_IMAGE",
    "SHARES_VOLUMES",
    "Schedule",
    "ScheduledTask",
    "Scratch",
    "Service",
    "StopFirst",
    "Task",
    "Volume",
    "Workload",
    "report_from_output",
]
