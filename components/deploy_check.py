"""The post-deploy check: after `pulumi up`, the tracker answers and ingests, proven end to end.

When `postDeployCheck.enabled` is set, the app bootstraps one more project, reserved for the check
(`error-tracking-check`), so that no application's project ever receives a test event. Its DSN is
read from the bootstrap report like the others but never exported or delivered; the platform runs
SCRIPT where the tracker is reachable (this machine, the Docker host over SSH, a container on the
app network, a Kubernetes Job). The script waits until the health endpoint answers 2xx, then posts
one small event envelope to `/api/<project id>/envelope/` with the `X-Sentry-Auth` header that
SDKs send (GlitchTip and Sentry's Relay both read the key from it), and fails with a message that
says which step did not pass. It is POSIX sh with curl only, because a Docker host may have no
Python; the DSN arrives on stdin (or in CHECK_DSN inside a container) and the key reaches curl
through its config on stdin, so it is never on a command line and never printed.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.validation import Section

# The project the check sends its event to; a user project of this name is refused.
PROJECT_NAME = "error-tracking-check"
PROJECT_PLATFORM = "other"
DEFAULT_TIMEOUT_SECONDS = 300

# A small pinned image with sh and curl, for checks that run in a container or a Job
# (curl/curl-container@8.21.0, published as docker.io/curlimages/curl:8.21.0; alpine-based,
# its image user `curl_user` is a name, so pods set a numeric non-root uid themselves).
IMAGE = "curlimages/curl:8.21.0"
# Any non-root uid works for curl; 65534 is `nobody` on Alpine.
RUN_AS = 65534

SCRIPT = r"""set -u
fail() { echo "post-deploy check failed: $*" >&2; exit 1; }
command -v curl >/dev/null 2>&1 || fail "curl is not installed where the check runs; install it or set postDeployCheck.enabled false"
dsn="${CHECK_DSN:-}"
[ -n "$dsn" ] || IFS= read -r dsn || true
rest="${dsn#*://}"
key="${rest%%@*}"
project="${dsn##*/}"
case "$key" in *[!0-9a-f]*|"") key="" ;; esac
case "$project" in *[!0-9]*|"") project="" ;; esac
[ "${#key}" -eq 32 ] && [ -n "$project" ] || fail "the check project's DSN is not of the form scheme://<32 hex key>@host/<project id>"
base="${CHECK_BASE_URL%/}"
timeout="${CHECK_TIMEOUT_SECONDS:-300}"
interval="${CHECK_INTERVAL_SECONDS:-3}"
deadline=$(( $(date +%s) + timeout ))
left() { n=$(( deadline - $(date +%s) )); [ "$n" -gt 10 ] && n=10; [ "$n" -lt 1 ] && n=1; echo "$n"; }
health="$base${CHECK_HEALTH_PATH:-/}"
until error=$(curl -sS -f -o /dev/null --max-time "$(left)" "$health" 2>&1); do
  [ "$(date +%s)" -lt "$deadline" ] || fail "$health did not answer 2xx within ${timeout}s (last: ${error:-no answer})"
  sleep "$interval"
done
echo "health: $health answers"
event=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
body=$(printf '{"event_id":"%s","sent_at":"%s"}\n{"type":"event"}\n{"event_id":"%s","timestamp":"%s","level":"info","platform":"other","logger":"error-tracking","message":"error-tracking post-deploy check"}' "$event" "$now" "$event" "$now")
ingest="$base/api/$project/envelope/"
while :; do
  answer=$(printf 'header = "X-Sentry-Auth: Sentry sentry_version=7, sentry_client=error-tracking-check/1.0, sentry_key=%s"\n' "$key" |
    curl -sS -K - --max-time "$(left)" -H 'Content-Type: application/x-sentry-envelope' --data-binary "$body" \
      -w '\n%{http_code}' "$ingest" 2>&1)
  code=$(printf '%s' "$answer" | tail -n 1)
  text=$(printf '%s' "$answer" | sed '$d' | sed "s/$key/<key>/g" | tr '\n' ' ' | cut -c 1-300)
  case "$code" in
    2??) echo "ingest: $ingest accepted the check event (HTTP $code)"; exit 0 ;;
    000|429|5??) [ "$(date +%s)" -lt "$deadline" ] || fail "$ingest did not accept the check event within ${timeout}s (last: HTTP $code ${text})" ;;
    *) fail "$ingest refused the check event with HTTP $code: ${text:-no body} (401/403: the key of the check project's DSN was not accepted)" ;;
  esac
  sleep "$interval"
done
"""


@dataclass(frozen=True)
class DeployCheckSettings:
    """`postDeployCheck: {enabled, timeoutSeconds}`; off unless a stack asks (the dev stack does)."""

    enabled: bool = False
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS


def parse(section: Section) -> DeployCheckSettings:
    enabled = section.boolean("enabled", False)
    timeout = section.integer("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS, minimum=10, maximum=3600)
    section.finish()
    if section.has("timeoutSeconds") and not enabled:
        section.error("timeoutSeconds", "is not used: the check is off; set postDeployCheck.enabled true or remove it")
    return DeployCheckSettings(enabled=enabled, timeout_seconds=timeout)


def environment(base_url: str, health_path: str, timeout_seconds: int) -> dict[str, str]:
    """What SCRIPT reads besides the DSN: none of it secret."""
    return {
        "CHECK_BASE_URL": base_url,
        "CHECK_HEALTH_PATH": health_path,
        "CHECK_TIMEOUT_SECONDS": str(timeout_seconds),
    }


def reached_at(base_url: str, health_path: str) -> str:
    """The stack output once the check passed: where it looked, never the DSN."""
    return f"passed: {base_url}{health_path} answers, {base_url}/api/<id>/envelope/ accepts ({PROJECT_NAME})"
