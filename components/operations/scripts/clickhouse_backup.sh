# The daily ClickHouse backup, after the Postgres dump of the same run, then the set that names
# both (written last), then retention. Scheduled with the Postgres backup: it waits while that
# dump is being written and pairs with the daily dump that started at most PAIR_WINDOW_MINUTES
# before this run (a dump's name carries its start time). The result is recorded beside the
# backups (.last-clickhouse-backup-ok / -failed); without a Postgres dump of this run the
# ClickHouse backup is still kept, but no set is written and the run fails. The backup and the
# retention hold the ClickHouse lock (backup_lib.sh): a second run waits for the first.
# Environment: as clickhouse_common.sh, plus PAIR_POSTGRES (the dumps' database name; unset when
# Postgres is external), SET_NAME (sentry), RETENTION_DAYS (30), PAIR_WINDOW_MINUTES (30),
# PAIR_WAIT_MINUTES (120), PAIR_GRACE_SECONDS (300), APP_VERSION.
. "$(dirname "$0")/clickhouse_common.sh"
# shellcheck disable=SC2034 # read by die (backup_lib.sh)
FAILED_FILE="$BACKUP_DIR/.last-clickhouse-backup-failed"

# The newest daily dump of $PAIR_POSTGRES that started at or after epoch number $1.
dump_since() {
  for dump in "$BACKUP_DIR/$PAIR_POSTGRES"-[0-9]*.dump; do
    [ -f "$dump" ] || continue
    started="$(stamp_number "$(basename "$dump")")"
    [ -n "$started" ] && [ "$started" -ge "$1" ] && printf '%s %s\n' "$started" "$(basename "$dump")"
  done | sort -n | tail -n 1 | cut -d ' ' -f 2
}

dump_in_progress() {
  find "$BACKUP_DIR" -maxdepth 1 -name ".partial-*-$PAIR_POSTGRES-[0-9]*.dump" -mmin -360 | grep -q .
}

# Waits for this run's Postgres dump: while one is being written, or for a grace period in case
# the Postgres backup has not started yet (both are scheduled for the same minute). A dump in
# progress is looked for first, then a finished one: a dump renamed into place between the two
# looks is found by the second (the other order would miss it, seeing neither).
postgres_dump_of_this_run() {
  since="$(epoch_number $(( $1 - ${PAIR_WINDOW_MINUTES:-30} * 60 )))"
  deadline=$(( $1 + ${PAIR_WAIT_MINUTES:-120} * 60 ))
  grace=$(( $1 + ${PAIR_GRACE_SECONDS:-300} ))
  while :; do
    if dump_in_progress; then writing=1; else writing=""; fi
    found="$(dump_since "$since")"
    if [ -n "$found" ] && [ -z "$writing" ]; then
      printf '%s\n' "$found"
      return 0
    fi
    [ "$(now)" -lt "$deadline" ] || return 1
    if [ -z "$found" ] && [ -z "$writing" ] && [ "$(now)" -ge "$grace" ]; then return 1; fi
    sleep "$POLL"
  done
}

started="$(now)"
dump=""
if [ -n "${PAIR_POSTGRES:-}" ]; then
  log "waiting for the Postgres dump of this run"
  dump="$(postgres_dump_of_this_run "$started")" || dump=""
  [ -n "$dump" ] && log "pairing with the Postgres dump $dump"
fi
take_clickhouse_backup clickhouse
if [ -n "${PAIR_POSTGRES:-}" ] && [ -z "$dump" ]; then
  die "ClickHouse backup $TAKEN kept, but no Postgres dump of this run appeared: no consistent set written"
fi
write_set "${SET_NAME:-sentry}-$TAKEN_STAMP.set" "postgres=${dump:-external (backed up by its operator)}" "clickhouse=$TAKEN"
prune_clickhouse "${RETENTION_DAYS:-30}"
record_result "$BACKUP_DIR/.last-clickhouse-backup-ok" "$(date -u +%Y-%m-%dT%H:%M:%SZ) ${SET_NAME:-sentry}-$TAKEN_STAMP.set"
