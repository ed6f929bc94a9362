# Shared by the ClickHouse scripts (sourced, POSIX sh). They run in the deployed ClickHouse image
# (its clickhouse-client matches the server) as the uid the server writes its backups as, with the
# backup disk's directory mounted at BACKUP_DIR. The server does the work: BACKUP and RESTORE
# write and read archives on its disk `backups` (config.d: storage_configuration + backups); the
# client only sends statements and waits. clickhouse-client reads the password from the
# CLICKHOUSE_PASSWORD environment variable (and the user from CLICKHOUSE_USER), never argv.
# Environment: as backup_lib.sh, plus CLICKHOUSE_HOST, CLICKHOUSE_PORT (9000), CLICKHOUSE_DATABASE
# (default), CLICKHOUSE_DISK (backups), CLICKHOUSE_POLL_SECONDS (5), CLICKHOUSE_MAX_SECONDS (21600).
. "$(dirname "$0")/backup_lib.sh"

: "${CLICKHOUSE_HOST:?set CLICKHOUSE_HOST to the ClickHouse server}"
DATABASE="${CLICKHOUSE_DATABASE:-default}"
DISK="${CLICKHOUSE_DISK:-backups}"
POLL="${CLICKHOUSE_POLL_SECONDS:-5}"

# Names we put into statements: plain letters, digits, '.', '_' and '-' only (no quoting tricks).
check_name() {
  case "$1" in
    ''|*[!A-Za-z0-9._-]*) die "'$1' may hold only letters, digits, '.', '_' and '-'" ;;
  esac
}
check_name "$DATABASE"
check_name "$DISK"

# One statement, TSV on stdout; values go in as query parameters ({name:Type}, --param_name=value).
ch() {
  query="$1"
  shift
  clickhouse-client --host "$CLICKHOUSE_HOST" --port "${CLICKHOUSE_PORT:-9000}" --format TSV --query "$query" "$@"
}

# Runs a BACKUP or RESTORE statement with ASYNC and waits until system.backups reports $2: a
# synchronous statement sends nothing while the server works, so on a large database the client
# would give up at its receive timeout. Fails on any other final status, naming the error.
run_async() {
  id="$(ch "$1 ASYNC" | cut -f 1)"
  [ -n "$id" ] || { log "the server returned no operation id for: $1"; return 1; }
  deadline=$(( $(date +%s) + ${CLICKHOUSE_MAX_SECONDS:-21600} ))
  while :; do
    row="$(ch "SELECT status, error FROM system.backups WHERE id = {id:String}" --param_id="$id")"
    status="$(printf '%s' "$row" | cut -f 1)"
    case "$status" in
      "$2") return 0 ;;
      CREATING_BACKUP|RESTORING) ;;
      '') log "the server no longer knows operation $id (restarted?)"; return 1 ;;
      *) log "operation $id ended $status: $(printf '%s' "$row" | cut -f 2-)"; return 1 ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || { log "operation $id still $status after the time limit"; return 1; }
    sleep "$POLL"
  done
}

# Proves an archive restorable without a server: its checksum still matches (no checksum file, no
# verification, unless CHECKSUM_OPTIONAL=yes: clickhouse_restore.sh --no-checksum), it reads to
# the end, and it holds the backup's metadata (`.backup`, which ClickHouse writes last).
verify_archive() {
  [ -s "$1" ] || { log "$1 is missing or empty"; return 1; }
  if [ -f "$1.sha256" ]; then
    checksum_ok "$1" || { log "$1 does not match its checksum $1.sha256 (changed or corrupted since it was written)"; return 1; }
  elif [ "${CHECKSUM_OPTIONAL:-}" = yes ]; then
    log "WARNING: $1 has no checksum file: used unchecked because --no-checksum was given"
  else
    log "$1 has no checksum file $1.sha256: it cannot be proven unchanged since it was written"
    return 1
  fi
  verify_tar "$1"
}
verify_tar() {
  listing="$(tar -tf "$1" 2>/dev/null)" || { log "$1 does not read as a tar archive"; return 1; }
  printf '%s\n' "$listing" | grep -qx '.backup' || { log "$1 lacks the backup metadata (.backup): incomplete"; return 1; }
}

# Backs the database up to $BACKUP_DIR/$1-<UTC stamp>.tar under the ClickHouse lock (a second
# backup waits; two never write at once): written by the server under a hidden name, verified,
# given a checksum and the row counts of its tables (<name>.tables: what the drill expects back),
# and only then renamed into place, so every visible archive is a verified one. Sets TAKEN (the
# archive's name) and TAKEN_STAMP.
CLEANUP=""
drop_partials() { for file in $CLEANUP; do rm -f "$file"; done; }
at_exit drop_partials
take_clickhouse_backup() {
  take_lock clickhouse
  TAKEN="$(fresh_name "$1" .tar)"
  # shellcheck disable=SC2034 # read by the scripts that call this
  TAKEN_STAMP="$(stamp_of "$TAKEN")"
  final="$BACKUP_DIR/$TAKEN"
  partial=".partial-$TAKEN"
  check_name "$partial"
  CLEANUP="$BACKUP_DIR/$partial $BACKUP_DIR/$partial.tables $BACKUP_DIR/$partial.sha256"
  ch "SELECT name, total_rows FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree'
      ORDER BY name" --param_db="$DATABASE" > "$BACKUP_DIR/$partial.tables"
  log "backing up ClickHouse database $DATABASE to $final"
  run_async "BACKUP DATABASE $DATABASE TO Disk('$DISK', '$partial')" BACKUP_CREATED ||
    die "the ClickHouse backup failed; nothing was published"
  verify_tar "$BACKUP_DIR/$partial" || die "the new ClickHouse backup failed verification; nothing was published"
  printf '%s  %s\n' "$(sha256_of "$BACKUP_DIR/$partial")" "$TAKEN" > "$BACKUP_DIR/$partial.sha256"
  sync
  mv -f "$BACKUP_DIR/$partial.tables" "$final.tables"
  mv -f "$BACKUP_DIR/$partial.sha256" "$final.sha256"
  mv -f "$BACKUP_DIR/$partial" "$final"
  CLEANUP=""
  log "ClickHouse backup written and verified: $final ($(wc -c < "$final") bytes, $(wc -l < "$final.tables") tables)"
}

# What is wrong with a restored copy (database $1) against the counts recorded at backup time
# ($2, <name>.tables), one problem per line; nothing when it is sound. The data itself is read,
# not the metadata: CHECK TABLE compares every file of every part with its checksums, and a count
# that reads every column (ignore(*)) decompresses every block. Every MergeTree table recorded is
# there, passes both, and each that had rows then has rows now (merges may shrink a count, never
# to zero); each table of CLICKHOUSE_NONEMPTY has rows (Snuba's migrations table always does).
restored_problems() {
  tables="$(ch "SELECT name FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree' ORDER BY name" \
    --param_db="$1")" || { echo "the restored tables cannot be listed"; return 0; }
  counts="
" readable=""
  for table in $tables; do
    check_name "$table"
    failed="$(ch "CHECK TABLE $1.$table SETTINGS check_query_single_value_result = 0" 2>&1 |
      awk -F '\t' '$2 != "1" { print $1 ": " $3 }')" || true
    if [ -n "$failed" ]; then
      # Reading a part that fails its checksums only repeats the verdict, slowly: not done.
      echo "table $table fails CHECK TABLE: $(printf '%s' "$failed" | tr '\n' ' ' | cut -c 1-300)"
      counts="$counts$table	unchecked
"
    else
      readable="$readable${readable:+ UNION ALL }SELECT '$table', count() FROM $1.$table WHERE NOT ignore(*)"
    fi
  done
  # Every column of every table read in one statement; when that fails, table by table to say which.
  if [ -n "$readable" ] && ! read_back="$(ch "$readable" 2>&1)"; then
    read_back=""
    for table in $tables; do
      case "$counts" in *"
$table	unchecked"*) continue ;; esac
      if rows="$(ch "SELECT count() FROM $1.$table WHERE NOT ignore(*)" 2>&1)"; then
        read_back="$read_back$table	$rows
"
      else
        echo "table $table does not read back: $(printf '%s' "$rows" | tr '\n' ' ' | cut -c 1-300)"
        counts="$counts$table	unchecked
"
      fi
    done
  fi
  counts="$counts${read_back:-}
"
  # The blank first line keeps awk reading the restored counts first even when there are none.
  { echo; printf '%s' "$counts"; } |
    awk -F '\t' -v nonempty=" ${CLICKHOUSE_NONEMPTY-migrations_local} " '
      NR == FNR { if ($1 != "") now[$1] = $2; next }
      { if (!($1 in now)) print "table " $1 " is missing or unreadable"
        else if (now[$1] == "unchecked") next
        else if ($2 != "\\N" && $2 + 0 > 0 && now[$1] + 0 == 0) print "table " $1 " had " $2 " rows and came back empty" }
      END { n = split(nonempty, names, " ")
            for (i = 1; i <= n; i++) if (!(names[i] in now) || (now[names[i]] != "unchecked" && now[names[i]] + 0 == 0)) print "table " names[i] " is empty or missing" }
    ' - "$2"
}

# The UTC start stamp in a file name (<prefix>-<stamp>.<ext>), and as a number that sorts by time.
stamp_of() { printf '%s\n' "$1" | sed -n 's/.*-\([0-9]\{8\}T[0-9]\{6\}Z\)\.[a-z]*$/\1/p'; }
stamp_number() { printf '%s\n' "$1" | sed -n 's/.*-\([0-9]\{8\}\)T\([0-9]\{6\}\)Z\.[a-z]*$/\1\2/p'; }
# `date -u` of an epoch second as such a number (GNU date: the ClickHouse image is Ubuntu).
epoch_number() { date -u -d "@$1" +%Y%m%d%H%M%S; }

# A consistent set: the manifest names the Postgres dump and the ClickHouse backup of one run,
# written last (and atomically), after both were verified. Restore both files of one set.
write_set() {
  set_file="$BACKUP_DIR/$1"
  shift
  body="# A consistent set of backups: restore all of them together (README, Restoring Sentry).
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
app_version=${APP_VERSION:-unknown}"
  for line in "$@"; do body="$body
$line"; done
  write_atomically "$set_file" "$body"
  log "backup set written: $set_file"
}
set_value() { sed -n "s/^$2=//p" "$1" | head -n 1; }

# The newest set whose ClickHouse archive is trusted (backup_lib.sh: untrusted), not dated in the
# future; every newer set passed over is logged with the reason. Nothing when there is none.
newest_set() {
  for set_file in $(newest_first "$BACKUP_DIR/${SET_NAME:-sentry}-*.set"); do
    ahead=$(( $(mtime "$set_file") - $(now) ))
    if [ "$ahead" -gt "$CLOCK_SLACK_SECONDS" ]; then log "passing over $(basename "$set_file"): it is dated in the future"; continue; fi
    archive="$(set_value "$set_file" clickhouse)"
    why="$(untrusted "$BACKUP_DIR/$archive")"
    if [ -z "$why" ]; then printf '%s\n' "$set_file"; return 0; fi
    log "passing over $(basename "$set_file"): its archive $archive $why"
  done
}

# Retention of the archives (backup_lib.sh: prune_backups, with their checksums and table counts),
# then the sets that name a file which is gone, then temporary files of killed runs.
prune_clickhouse() {
  take_lock clickhouse
  prune_backups "$1" "$BACKUP_DIR/clickhouse-[0-9]*.tar" "$BACKUP_DIR/clickhouse-pre-upgrade-*.tar" ".sha256 .tables"
  for set_file in "$BACKUP_DIR/${SET_NAME:-sentry}"-*.set; do
    [ -f "$set_file" ] || continue
    for key in postgres clickhouse; do
      named="$(set_value "$set_file" "$key")"
      case "$named" in ''|external*) continue ;; esac
      if [ ! -f "$BACKUP_DIR/$named" ]; then
        rm -f "$set_file" || log "warning: could not remove $set_file"
        log "removed $set_file: its $key backup $named is gone"
        break
      fi
    done
  done
  find "$BACKUP_DIR" -maxdepth 1 -type f -name '.partial-clickhouse-*' -mmin +1440 -exec rm -f {} + ||
    log "warning: could not remove old temporary files"
}
