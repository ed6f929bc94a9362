# The ClickHouse restore drill: the ClickHouse backup of the newest set is verified, restored on
# the live server into a scratch database drill_<stamp> (RESTORE ... AS), checked, and dropped.
# Only a set whose archive is trusted is drilled (clickhouse_common.sh: newest_set). Checks:
# restored_problems (clickhouse_common.sh), which read the restored data itself. The outcome is recorded beside the backups:
# .last-clickhouse-drill-ok or .last-clickhouse-drill-failed. On a fresh install (no set yet) it
# takes a ClickHouse backup first, as the Postgres drill takes a dump.
# The restore needs free space on the server's data disk about the archive's size: checked first.
# Environment: as clickhouse_common.sh, plus SET_NAME (sentry), CLICKHOUSE_NONEMPTY
# (migrations_local).
. "$(dirname "$0")/clickhouse_common.sh"
# shellcheck disable=SC2034 # read by die (backup_lib.sh)
FAILED_FILE="$BACKUP_DIR/.last-clickhouse-drill-failed"

drop_drills() {
  for old in $(ch "SELECT name FROM system.databases WHERE startsWith(name, 'drill_')"); do
    check_name "$old"
    log "dropping scratch database $old"
    ch "DROP DATABASE IF EXISTS $old SYNC"
  done
}

set_file="$(newest_set)"
if [ -n "$set_file" ]; then
  archive="$(set_value "$set_file" clickhouse)"
  check_name "$archive"
  log "restore drill of $archive from $(basename "$set_file")"
elif [ -n "$(newest_first "$BACKUP_DIR/${SET_NAME:-sentry}-*.set")" ]; then
  die "no backup set names a trusted ClickHouse archive (see above): nothing to drill"
else
  log "no backup set yet: taking a ClickHouse backup to drill first"
  take_clickhouse_backup clickhouse
  archive="$TAKEN"
fi
file="$BACKUP_DIR/$archive"
verify_archive "$file" || die "$archive failed verification"
[ -f "$file.tables" ] || die "$archive has no table counts ($archive.tables)"

size="$(wc -c < "$file")"
free="$(ch "SELECT free_space FROM system.disks WHERE name = 'default'")"
[ "$free" -gt $(( size + size / 5 )) ] ||
  die "the server's data disk has $free bytes free; restoring $archive ($size bytes) needs about $(( size + size / 5 ))"

drop_drills
scratch="drill_$(utc_stamp | tr '[:upper:]' '[:lower:]')"
started="$(now)"
run_async "RESTORE DATABASE $DATABASE AS $scratch FROM Disk('$DISK', '$archive')" RESTORED ||
  { drop_drills; die "restoring $archive failed"; }

problems="$(restored_problems "$scratch" "$file.tables")"
drop_drills
[ -z "$problems" ] || die "the restored copy of $archive failed its checks: $(printf '%s' "$problems" | tr '\n' ';')"
tables="$(wc -l < "$file.tables")"
record_result "$BACKUP_DIR/.last-clickhouse-drill-ok" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ) $archive restored and checked ($tables tables) in $(( $(now) - started ))s"
log "ClickHouse restore drill passed"
