# Restores the ClickHouse half of a backup set after a disaster (the README's runbook): the
# archive the set names is verified, restored into <db>_restoring, checked as the drill checks
# (the data itself: clickhouse_common.sh, restored_problems), and swapped in for the live
# database, which is kept as <db>_before_<stamp> (RENAME DATABASE: ClickHouse's Atomic databases
# rename at once). When the second rename fails, the first is undone, and the message says where
# each database is. Stop Snuba (its API and consumers) first.
#
#   clickhouse_restore.sh [--no-checksum] SET_FILE      e.g. /backups/sentry-20260801T030512Z.set
#
# --no-checksum restores an archive that has no .sha256 beside it (said loudly).
# Environment: as clickhouse_common.sh.
. "$(dirname "$0")/clickhouse_common.sh"

if [ "${1:-}" = --no-checksum ]; then
  CHECKSUM_OPTIONAL=yes
  shift
fi
if [ $# -ne 1 ] || [ ! -f "$1" ]; then die "usage: clickhouse_restore.sh [--no-checksum] SET_FILE (a sentry-*.set in $BACKUP_DIR)"; fi
archive="$(set_value "$1" clickhouse)"
check_name "$archive"
file="$BACKUP_DIR/$archive"
verify_archive "$file" || die "$archive failed verification; nothing was restored"
[ -f "$file.tables" ] || die "$archive has no table counts ($archive.tables); nothing was restored"
staging="${DATABASE}_restoring"
old="${DATABASE}_before_$(utc_stamp | tr '[:upper:]' '[:lower:]')"
ch "DROP DATABASE IF EXISTS $staging SYNC"
log "restoring $archive into $staging"
run_async "RESTORE DATABASE $DATABASE AS $staging FROM Disk('$DISK', '$archive')" RESTORED ||
  die "restoring $archive failed; $staging holds a partial restore, $DATABASE is unchanged"
problems="$(restored_problems "$staging" "$file.tables")"
[ -z "$problems" ] ||
  die "the restored copy failed its checks: $(printf '%s' "$problems" | tr '\n' ';') $DATABASE is unchanged; the copy is in $staging"
moved=""
if [ "$(ch "SELECT count() FROM system.databases WHERE name = {db:String}" --param_db="$DATABASE")" = 1 ]; then
  ch "RENAME DATABASE $DATABASE TO $old" ||
    die "could not rename $DATABASE to $old: nothing changed, $DATABASE is live as before; the restored copy waits in $staging"
  moved=1
fi
if ! ch "RENAME DATABASE $staging TO $DATABASE"; then
  [ -n "$moved" ] || die "could not rename $staging to $DATABASE; there was no $DATABASE before; the restored copy waits in $staging"
  if ch "RENAME DATABASE $old TO $DATABASE"; then
    die "could not rename $staging to $DATABASE: $DATABASE is the previous database again; the restored copy waits in $staging"
  fi
  die "no database is named $DATABASE now: the previous one is $old, the restored copy $staging. Rename one of them: RENAME DATABASE $staging TO $DATABASE"
fi
[ -z "$moved" ] || log "the database it replaces is kept as $old"
# The set's version is known when it is a pre-upgrade set; otherwise it is not.
version="$(basename "$1" | sed -n 's/^.*-pre-upgrade-from-\(.*\)-[0-9]\{8\}T[0-9]\{6\}Z\.set$/\1/p')"
if [ -n "$version" ] && [ "$version" != unknown ]; then
  write_atomically "$BACKUP_DIR/.clickhouse-app-version" "$version"
else
  rm -f "$BACKUP_DIR/.clickhouse-app-version"
fi
log "restored $archive as $DATABASE; drop $old once Sentry works again: DROP DATABASE $old SYNC"
