# The restore drill: the newest trusted dump (backup_lib.sh: untrusted; an empty, unchecksummed or
# future-dated file is passed over, and said so) is restored by restore.sh (the runbook's script)
# into a scratch database on the same server, verified, checked, and dropped. The outcome is
# recorded beside the backups, for health checks and the watchdog: .last-drill-ok (time and dump)
# or .last-drill-failed (time and reason); a failed drill exits non-zero.
# With SET_NAME (Sentry: sentry), the dump named by the newest backup set is drilled, so that the
# Postgres half of the set the ClickHouse drill checks is the one checked here.
# Environment: as restore.sh, plus DRILL_DATABASE (default <db>_drill), SET_NAME.
. "$(dirname "$0")/common.sh"
# shellcheck disable=SC2034 # read by die (backup_lib.sh)
FAILED_FILE="$BACKUP_DIR/.last-drill-failed"

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

# The dump of the newest trusted backup set when there is one, else the newest trusted dump.
dump_to_drill() {
  if [ -n "${SET_NAME:-}" ]; then
    for set_file in $(newest_first "$BACKUP_DIR/$SET_NAME-*.set"); do
      ahead=$(( $(mtime "$set_file") - $(now) ))
      if [ "$ahead" -gt "$CLOCK_SLACK_SECONDS" ]; then log "passing over $(basename "$set_file"): it is dated in the future"; continue; fi
      named="$(sed -n 's/^postgres=//p' "$set_file" | head -n 1)"
      if [ -n "$named" ] && [ -z "$(untrusted "$BACKUP_DIR/$named")" ]; then
        printf '%s\n' "$BACKUP_DIR/$named"
        return
      fi
      break
    done
  fi
  PASSING_OVER=log newest_dump
}

dump="$(dump_to_drill)"
if [ -z "$dump" ] && [ -n "$(newest_first "$BACKUP_DIR/$DB-*.dump")" ]; then
  die "no dump of $DB is trusted (see above): nothing to drill"
elif [ -z "$dump" ]; then
  # A fresh install: no dump exists yet, so the drill takes one (the same script as the daily run).
  log "no trusted dump yet: taking one with backup.sh first"
  sh "$here/backup.sh" || die "no dump to drill, and backup.sh could not take one"
  dump="$(newest_dump)"
  [ -n "$dump" ] || die "backup.sh succeeded but no trusted dump is there"
fi
log "restore drill of $dump into scratch database $scratch"
drop_scratch || die "could not drop a scratch database $scratch left by an earlier drill"
started="$(now)"
if sh "$here/restore.sh" "$dump" "$scratch"; then
  drop_scratch || log "warning: could not drop $scratch; the next drill drops it"
  record_result "$BACKUP_DIR/.last-drill-ok" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ) $(basename "$dump") restored and checked in $(( $(now) - started ))s"
  log "restore drill passed"
else
  drop_scratch || true
  die "restoring $(basename "$dump") failed; see the log above"
fi
