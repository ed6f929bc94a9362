"""The snuba-api health check script, mounted where upstream mounts its own.

It does what upstream's snuba/api_healthcheck.py does: GET Snuba's /health and succeed only when
the body says ok, with a one-line reason on failure (no traceback in `docker inspect`).
"""

SCRIPT = """\
import os, sys, urllib.request

url = os.environ.get("SNUBA_API_HEALTHCHECK_URL") or "http://127.0.0.1:1218/health"
try:
    with urllib.request.urlopen(url, timeout=float(os.environ.get("SNUBA_API_HEALTHCHECK_TIMEOUT") or 2)) as response:
        body = response.read().decode(errors="replace")
except Exception as error:  # HTTP errors, refused connections, timeouts: all mean unhealthy
    print(f"snuba-api unhealthy at {url}: {error}", file=sys.stderr)
    sys.exit(1)
if "ok" not in body:
    print(f"snuba-api answered without ok: {body[:200]!r}", file=sys.stderr)
    sys.exit(1)
"""

COMMAND = ("python3", "/usr/src/snuba/api_healthcheck.py")


def render_snuba_api_healthcheck() -> str:
    return SCRIPT
