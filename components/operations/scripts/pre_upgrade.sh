# Before migrations: when the app's version changes, a verified dump named after the version it
# came from, so that a rollback is "that version + that dump". The migration runs after this task.
#
# The marker $BACKUP_DIR/.<db>-app-version holds the version the database was last prepared for.
# It is written here (after the dump, or at once on a fresh install) and by `restore.sh --replace`.
# The check and the dump run under the lock of this database: a daily backup running at that
# moment is waited for, never raced. Environment: PG* (connection), BACKUP_DIR (/backups),
# APP_VERSION (the version being deployed), LOCK_WAIT_SECONDS (7200).
. "$(dirname "$0")/common.sh"

: "${APP_VERSION:?set APP_VERSION to the version being deployed}"
case "$APP_VERSION" in
  ''|*[!A-Za-z0-9._-]*) die "APP_VERSION '$APP_VERSION' may hold only letters, digits, '.', '_' and '-'" ;;
esac
marker="$BACKUP_DIR/.$DB-app-version"
unchanged() {
  previous="$(cat "$marker" 2>/dev/null || true)"
  [ "$previous" = "$APP_VERSION" ] || return 1
  log "version $APP_VERSION unchanged: no pre-upgrade backup needed"
}
unchanged && exit 0
take_lock "$DB"
unchanged && exit 0  # another run prepared it while this one waited
tables="$(psql -X -A -t -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")"
if [ "$tables" = 0 ]; then
  log "database $DB is empty (a fresh install): nothing to back up before migrating to $APP_VERSION"
else
  # No marker on a database that has tables: installed before this task existed, version unknown.
  take_dump "$DB-pre-upgrade-from-${previous:-unknown}"
fi
write_atomically "$marker" "$APP_VERSION"
log "ready to migrate $DB from ${previous:-nothing} to $APP_VERSION"
