#!/usr/bin/env python3
"""After `pulumi up` on a Docker stack: prove on the real host that GlitchTip works end to end.

Run it where the Pulumi CLI and the `docker` CLI reach the stack's engine (DOCKER_HOST=ssh://... for a
remote host) and the web port is reachable (an ssh tunnel for a 127.0.0.1 binding):

    python3 scripts/verify_docker_host.py --stack dev [--base-url http://127.0.0.1:8000]

It checks that every long-running container of the stack is healthy, that /_health/ answers, and sends
one test event to each project's DSN (the event appears in GlitchTip within seconds). Stdlib only; it
prints no secret (DSNs are shown with their key masked). Exit code 0 = all checks passed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from urllib.parse import urlsplit


def store_request(dsn: str, base_url: str | None = None) -> tuple[str, dict[str, str]]:
    """The URL and headers with which a Sentry SDK would send an event to this DSN."""
    parts = urlsplit(dsn)
    path, _, project_id = parts.path.rpartition("/")
    origin = base_url.rstrip("/") if base_url else f"{parts.scheme}://{parts.hostname}" + (
        f":{parts.port}" if parts.port else "")
    auth = f"Sentry sentry_version=7, sentry_client=error-tracking-verify/1.0, sentry_key={parts.username}"
    return f"{origin}{path}/api/{project_id}/store/", {"X-Sentry-Auth": auth, "Content-Type": "application/json"}


def masked(dsn: str) -> str:
    parts = urlsplit(dsn)
    return dsn.replace(parts.username or "", (parts.username or "")[:4] + "…")


def stack_outputs(stack: str) -> dict:
    result = subprocess.run(["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def unhealthy_containers(app: str) -> list[str]:
    names = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label=app.kubernetes.io/name={app}", "--format", "{{.Names}}"],
        check=True, capture_output=True, text=True).stdout.split()
    bad = []
    for name in names:
        state = json.loads(subprocess.run(["docker", "inspect", "--format", "{{json .State}}", name],
                                          check=True, capture_output=True, text=True).stdout)
        if "Health" in state:  # long-running: must be healthy
            if state["Health"]["Status"] != "healthy":
                bad.append(f"{name}: {state['Health']['Status']}")
        elif state.get("ExitCode", 0) != 0:  # one-shot: must have exited 0
            bad.append(f"{name}: exited {state['ExitCode']}")
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--app", default="glitchtip")
    parser.add_argument("--base-url", help="where to reach the web port from here (default: the DSN's host)")
    args = parser.parse_args()
    outputs = stack_outputs(args.stack)
    failures = unhealthy_containers(args.app)
    for failure in failures:
        print(f"FAIL container {failure}")
    base = (args.base_url or outputs["url"]).rstrip("/")
    try:
        with urllib.request.urlopen(f"{base}/_health/", timeout=10) as response:
            print(f"ok   {base}/_health/ -> {response.status}")
    except Exception as error:  # a refused or failing health check is a finding, not a crash
        failures.append("health")
        print(f"FAIL {base}/_health/: {error}")
    for project, dsn in sorted(outputs["dsns"].items()):
        url, headers = store_request(dsn, args.base_url)
        event = {"event_id": uuid.uuid4().hex, "timestamp": time.time(), "level": "error", "platform": "python",
                 "message": f"error-tracking verification event for {project}"}
        request = urllib.request.Request(url, data=json.dumps(event).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                print(f"ok   event sent to {project} ({masked(dsn)}) -> {response.status}")
        except Exception as error:  # report every project, then fail
            failures.append(project)
            print(f"FAIL event to {project} ({masked(dsn)}): {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
