# Before migrations: when the app's version changes, a verified ClickHouse backup named after the
# version it came from, and the set pairing it with the Postgres pre-upgrade dump taken just
# before (pre_upgrade.sh runs first; Snuba's and Sentry's migrations run after this task). A
# rollback is: the old version + the files of that set.
#
# The marker $BACKUP_DIR/.clickhouse-app-version holds the version ClickHouse was last prepared
# for; it is written here (after the backup, or at once on a fresh install) and by
# clickhouse_restore.sh. Environment: as clickhouse_common.sh, plus APP_VERSION, PAIR_POSTGRES,
# SET_NAME (sentry), PAIR_WINDOW_MINUTES (30), LOCK_WAIT_SECONDS (7200).
. "$(dirname "$0")/clickhouse_common.sh"

: "${APP_VERSION:?set APP_VERSION to the version being deployed}"
check_name "$APP_VERSION"
marker="$BACKUP_DIR/.clickhouse-app-version"
unchanged() {
  previous="$(cat "$marker" 2>/dev/null || true)"
  [ "$previous" = "$APP_VERSION" ] || return 1
  log "version $APP_VERSION unchanged: no ClickHouse pre-upgrade backup needed"
}
unchanged && exit 0
take_lock clickhouse  # a daily backup running now is waited for, never raced
unchanged && exit 0
tables="$(ch "SELECT count() FROM system.tables WHERE database = {db:String}" --param_db="$DATABASE")"
if [ "$tables" = 0 ]; then
  log "ClickHouse database $DATABASE is empty (a fresh install): nothing to back up before $APP_VERSION"
else
  take_clickhouse_backup "clickhouse-pre-upgrade-from-${previous:-unknown}"
  name="$TAKEN" stamp="$TAKEN_STAMP"
  if [ -n "${PAIR_POSTGRES:-}" ]; then
    # The Postgres pre-upgrade dump of this deployment: the newest, started within the window.
    since="$(epoch_number $(( $(date +%s) - ${PAIR_WINDOW_MINUTES:-30} * 60 )))"
    dump=""
    for candidate in "$BACKUP_DIR/$PAIR_POSTGRES"-pre-upgrade-from-*.dump; do
      [ -f "$candidate" ] || continue
      started="$(stamp_number "$(basename "$candidate")")"
      if [ -n "$started" ] && [ "$started" -ge "$since" ]; then dump="$(basename "$candidate")"; since="$started"; fi
    done
    if [ -n "$dump" ]; then
      write_set "${SET_NAME:-sentry}-pre-upgrade-from-${previous:-unknown}-$stamp.set" "postgres=$dump" "clickhouse=$name"
    else
      log "no Postgres pre-upgrade dump of this deployment (Postgres was not upgraded): ClickHouse backup $name only"
    fi
  else
    write_set "${SET_NAME:-sentry}-pre-upgrade-from-${previous:-unknown}-$stamp.set" \
      "postgres=external (backed up by its operator)" "clickhouse=$name"
  fi
fi
write_atomically "$marker" "$APP_VERSION"
log "ClickHouse ready to migrate from ${previous:-nothing} to $APP_VERSION"
