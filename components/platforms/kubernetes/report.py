"""How a reporting task hands its report back to the program on Kubernetes.

A pod's stdout is not something Pulumi can read, so the task's command is wrapped: the wrapper
(python3 stdlib only) runs it, passes every other line through to the pod log, and merge-patches
the `REPORT_PREFIX{json}` line into one Secret through the API server with the pod's service
account. The Secret is declared empty by Pulumi (its data ignored), the Role may only get and
patch that one Secret, and the program reads it back with `Secret.get` once the Job completed.
The report line itself never reaches the pod log (it may hold tokens and DSNs).
"""

from __future__ import annotations

from typing import Any

REPORT_KEY = "report"

# Run as: python3 -c WRAPPER <secret> <key> <prefix> -- <command...>
WRAPPER = r"""
import base64, json, os, ssl, subprocess, sys, urllib.request
secret, key, prefix = sys.argv[1:4]
command = sys.argv[5:]
sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
report = None
for line in proc.stdout:
    if prefix in line:
        report = line[line.index(prefix):].strip()
        print("(report line captured, not logged)", flush=True)
    else:
        sys.stdout.write(line)
        sys.stdout.flush()
code = proc.wait()
if code != 0:
    print("task failed with exit code %d" % code, file=sys.stderr)
    sys.exit(code)
if report is None:
    print("task finished without printing its report line (%s...)" % prefix, file=sys.stderr)
    sys.exit(3)
namespace = open(sa + "namespace").read().strip()
token = open(sa + "token").read().strip()
body = json.dumps({"data": {key: base64.b64encode(report.encode()).decode()}}).encode()
request = urllib.request.Request(
    "https://kubernetes.default.svc/api/v1/namespaces/%s/secrets/%s" % (namespace, secret),
    data=body, method="PATCH",
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/merge-patch+json"},
)
urllib.request.urlopen(request, context=ssl.create_default_context(cafile=sa + "ca.crt"), timeout=30).read()
print("report stored in Secret %s" % secret, flush=True)
""".strip()


def wrapped_command(command: tuple[str, ...], secret: str, prefix: str) -> list[str]:
    return ["python3", "-c", WRAPPER, secret, REPORT_KEY, prefix, "--", *command]


def role_rules(secret: str) -> list[dict[str, Any]]:
    """Exactly one Secret, read and patched; nothing else."""
    return [{"api_groups": [""], "resources": ["secrets"], "resource_names": [secret], "verbs": ["get", "patch"]}]


def report_secret_name(task_name: str) -> str:
    return f"{task_name}-report"
