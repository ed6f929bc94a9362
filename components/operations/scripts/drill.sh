# The restore drill: the newest verified dump is restored by restore.sh (the runbook's script)
# into a scratch database on the same server, checked, and dropped. The outcome is recorded beside
# the backups, for health checks and the watchdog: .last-drill-ok (time and dump) or
# .last-drill-failed (time and reason); a failed drill exits non-zero.
# With SET_NAME (Sentry: sentry), the dump named by the newest backup set is drilled, so that the
# Postgres half of the set the ClickHouse drill checks is the one checked here.
# Environment: as restore.sh, plus DRILL_DATABASE (default <db>_drill), SET_NAME.
. "$(dirname "$0")/common.sh"

here="$(dirname "$0")"
scratch="${DRILL_DATABASE:-${DB}_drill}"
check_identifier "$scratch"
: "${CHECKS_SQL:?set CHECKS_SQL to the sanity checks a restored database must pass}"

drop_scratch() {
  psql -X -q -v ON_ERROR_STOP=1 -d "${MAINTENANCE_DATABASE:-postgres}" -v name="$scratch" <<'SQL'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS :"name" WITH (FORCE);
SQL
}

fail() {
  write_atomically "$BACKUP_DIR/.last-drill-failed" "$(date -u +%Y-%m-%dT%H:%M:%SZ) $1"
  die "restore drill failed: $1"
}

# The dump of the newest backup set when there is one, else the newest verified dump.
dump_to_drill() {
  if [ -n "${SET_NAME:-}" ]; then
    # shellcheck disable=SC2012 # our own file names: no spaces or newlines
    set_file="$(ls -1t "$BACKUP_DIR/$SET_NAME"-*.set 2>/dev/null | head -n 1)"
    named="$( [ -z "$set_file" ] || sed -n 's/^postgres=//p' "$set_file" | head -n 1)"
    if [ -n "$named" ] && [ -f "$BACKUP_DIR/$named" ]; then
      printf '%s\n' "$BACKUP_DIR/$named"
      return
    fi
  fi
  newest_dump
}

dump="$(dump_to_drill)"
if [ -z "$dump" ]; then
  # A fresh install: no dump exists yet, so the drill takes one (the same script as the daily run).
  log "no verified dump yet: taking one with backup.sh first"
  sh "$here/backup.sh" || fail "no dump to drill, and backup.sh could not take one"
  dump="$(newest_dump)"
fi
log "restore drill of $dump into scratch database $scratch"
drop_scratch || fail "could not drop a scratch database $scratch left by an earlier drill"
started="$(date +%s)"
if sh "$here/restore.sh" "$dump" "$scratch"; then
  drop_scratch || log "warning: could not drop $scratch; the next drill drops it"
  write_atomically "$BACKUP_DIR/.last-drill-ok" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ) $(basename "$dump") restored and checked in $(( $(date +%s) - started ))s"
  log "restore drill passed"
else
  drop_scratch || true
  fail "restoring $(basename "$dump") failed; see the log above"
fi
