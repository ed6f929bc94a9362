"""The Kubernetes mode: what a read-only ServiceAccount can see, through the API server.

Stdlib only: urllib with the pod's token and the service account CA. The Role it needs (declared
by the platform, see components.operations.alerting.rbac_rules): get the worker Deployment and
the backup/drill/offsite CronJobs, get and patch one ConfigMap holding the state (two copies,
stores.py). An API server that refuses, hangs or answers garbage fails the check that asked, never
the pass; a ConfigMap that cannot be read or patched is the state store failing (passes.py).
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any, Mapping, Optional

from .checks import guarded, http_ok
from .state import Result
from .stores import StateError, newest

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
STATE_KEYS = ("state", "state-copy")


class ApiError(Exception):
    pass


class KubernetesApi:
    def __init__(self, base_url: str, token: str, namespace: str, context: Optional[ssl.SSLContext]):
        self.base_url = base_url.rstrip("/")
        self.namespace = namespace
        self._token = token
        self._context = context

    @classmethod
    def in_cluster(cls, env: Mapping[str, str] = os.environ, root: str = SERVICE_ACCOUNT_DIR) -> "KubernetesApi":
        host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise ApiError("not in a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set")
        host = f"[{host}]" if ":" in host else host
        with open(os.path.join(root, "token"), encoding="utf-8") as handle:
            token = handle.read().strip()
        with open(os.path.join(root, "namespace"), encoding="utf-8") as handle:
            namespace = handle.read().strip()
        context = ssl.create_default_context(cafile=os.path.join(root, "ca.crt"))
        return cls(f"https://{host}:{port}", token, namespace, context)

    def request(self, method: str, path: str, body: Optional[dict] = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/merge-patch+json"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=15, context=self._context) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise ApiError(f"{method} {path}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ApiError(f"{method} {path}: {getattr(error, 'reason', error)}") from None
        except http.client.HTTPException as error:
            raise ApiError(f"{method} {path}: the answer is not HTTP ({type(error).__name__})") from None
        if not isinstance(answer, dict):
            raise ApiError(f"{method} {path}: the answer is not a JSON object")
        return answer

    def namespaced(self, group_version: str, kind: str, name: str) -> str:
        prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        return f"{prefix}/namespaces/{self.namespace}/{kind}/{name}"


def _time(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def deployment_ready(deployment: Mapping[str, Any], name: str) -> Result:
    """At least one ready replica: someone is processing the queue."""
    status = deployment.get("status") or {}
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    ready = status.get("readyReplicas") or 0
    return Result(ready >= 1 or wanted == 0, f"deployment {name}: {ready}/{wanted} replicas ready")


def cronjob_result(cronjob: Mapping[str, Any], name: str, max_age_hours: int, now: float) -> Result:
    """From CronJob status: the latest run did not fail, and a run succeeded within max age.

    lastSuccessfulTime is when the last successful Job finished; lastScheduleTime when the latest
    Job was scheduled. A later schedule with no Job still active means that run failed.
    """
    status = cronjob.get("status") or {}
    last_ok, last_scheduled = _time(status.get("lastSuccessfulTime")), _time(status.get("lastScheduleTime"))
    running = bool(status.get("active"))
    if last_scheduled and (last_ok is None or last_scheduled > last_ok) and not running:
        return Result(False, f"cronjob {name}: the run scheduled at {status.get('lastScheduleTime')} failed "
                             f"(kubectl logs job/<its job>; kubectl get jobs)")
    limit = max_age_hours * 3600
    if last_ok is None:
        created = _time((cronjob.get("metadata") or {}).get("creationTimestamp")) or now
        if now - created > limit:
            return Result(False, f"cronjob {name}: no successful run in the {max_age_hours} h since it was created")
        return Result(True, f"cronjob {name}: not due yet")
    if now - last_ok > limit:
        hours = (now - last_ok) / 3600
        return Result(False, f"cronjob {name}: last success {hours:.1f} h ago (limit {max_age_hours} h)")
    return Result(True, f"cronjob {name}: last success {(now - last_ok) / 3600:.1f} h ago")


def kubernetes_checks(config, api: KubernetesApi, now: float) -> dict[str, Result]:
    results: dict[str, Result] = {}
    if config.health_url:
        results["web"] = guarded(lambda: http_ok(config.health_url, config.check_timeout_seconds))
    if config.worker_deployment:
        results["worker"] = _guarded(lambda: deployment_ready(
            api.request("GET", api.namespaced("apps/v1", "deployments", config.worker_deployment)),
            config.worker_deployment))
    for check, (name, max_age_hours) in sorted(config.cronjobs.items()):
        results[check] = _guarded(lambda n=name, h=max_age_hours: cronjob_result(
            api.request("GET", api.namespaced("batch/v1", "cronjobs", n)), n, h, now))
    return results


def _guarded(check) -> Result:
    try:
        return check()
    except ApiError as error:
        return Result(False, f"cannot read it from the API server: {error}")
    except Exception as error:  # noqa: BLE001 - an object of an unexpected shape fails its check alone
        return Result(False, f"cannot make sense of what the API server answered: {type(error).__name__}")


class ConfigMapState:
    """The watchdog's state document (stores.py) in two keys of one ConfigMap it may get and patch."""

    def __init__(self, api: KubernetesApi, name: str):
        self.api, self.name = api, name
        self.path = api.namespaced("v1", "configmaps", name)

    def load(self) -> dict:
        try:
            data = self.api.request("GET", self.path).get("data") or {}
            if not isinstance(data, dict):
                raise ApiError("its data is not a map")
        except ApiError as error:
            raise StateError(f"ConfigMap {self.name}: {error}") from None
        return newest(data.get(key) if isinstance(data.get(key), str) else None for key in STATE_KEYS)

    def save(self, state: dict) -> None:
        text = json.dumps(state, sort_keys=True)
        try:
            self.api.request("PATCH", self.path, {"data": {key: text for key in STATE_KEYS}})
        except ApiError as error:
            raise StateError(f"ConfigMap {self.name}: {error}") from None
