# Shared by the ClickHouse scripts (sourced, POSIX sh). They run in the deployed ClickHouse image
# (its clickhouse-client matches the server) as the uid the server writes its backups as, with the
# backup disk's directory mounted at BACKUP_DIR. The server does the work: BACKUP and RESTORE
# write and read archives on its disk `backups` (config.d: storage_configuration + backups); the
# client only sends statements and waits. clickhouse-client reads the password from the
# CLICKHOUSE_PASSWORD environment variable (and the user from CLICKHOUSE_USER), never argv.
# Environment: CLICKHOUSE_HOST, CLICKHOUSE_PORT (9000), CLICKHOUSE_DATABASE (default),
# CLICKHOUSE_DISK (backups), BACKUP_DIR (/backups), CLICKHOUSE_POLL_SECONDS (5).
set -eu

BACKUP_DIR="${BACKUP_DIR:-/backups}"
: "${CLICKHOUSE_HOST:?set CLICKHOUSE_HOST to the ClickHouse server}"
DATABASE="${CLICKHOUSE_DATABASE:-default}"
DISK="${CLICKHOUSE_DISK:-backups}"
POLL="${CLICKHOUSE_POLL_SECONDS:-5}"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
utc_stamp() { date -u +%Y%m%dT%H%M%SZ; }
sha256_of() { sha256sum < "$1" | cut -d ' ' -f 1; }
write_atomically() {
  printf '%s\n' "$2" > "$1.tmp.$$"
  mv -f "$1.tmp.$$" "$1"
}

# A script that sets FAILED_FILE records why it failed there (for health checks and the
# watchdog), whether it stopped through `die` or through `set -e`; CLEANUP lists the files of
# work in progress to remove when it stops early.
CLEANUP=""
RECORDED=""
record_failure() {
  if [ -n "${FAILED_FILE:-}" ] && [ -z "$RECORDED" ]; then
    write_atomically "$FAILED_FILE" "$(date -u +%Y-%m-%dT%H:%M:%SZ) $1"
    RECORDED=1
  fi
}
die() { log "ERROR: $*"; record_failure "$*"; exit 1; }
on_exit() {
  status=$?
  for file in $CLEANUP; do rm -f "$file"; done
  [ "$status" -eq 0 ] || record_failure "stopped with status $status; see the log"
}
trap on_exit EXIT

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

# Proves an archive restorable without a server: its checksum still matches, it reads to the end,
# and it holds the backup's metadata (`.backup`, which ClickHouse writes last).
verify_archive() {
  [ -s "$1" ] || { log "$1 is missing or empty"; return 1; }
  if [ -f "$1.sha256" ] && [ "$(sha256_of "$1")" != "$(cut -d ' ' -f 1 "$1.sha256")" ]; then
    log "$1 does not match its checksum $1.sha256 (changed or corrupted since it was written)"
    return 1
  fi
  listing="$(tar -tf "$1" 2>/dev/null)" || { log "$1 does not read as a tar archive"; return 1; }
  printf '%s\n' "$listing" | grep -qx '.backup' || { log "$1 lacks the backup metadata (.backup): incomplete"; return 1; }
}

# Backs the database up to $BACKUP_DIR/$1 (a .tar): written by the server under a hidden name,
# verified, given a checksum and the row counts of its tables (<name>.tables: what the drill
# expects back), and only then renamed into place, so every visible archive is a verified one.
take_clickhouse_backup() {
  final="$BACKUP_DIR/$1"
  partial=".partial-$1"
  check_name "$partial"
  CLEANUP="$BACKUP_DIR/$partial $BACKUP_DIR/$partial.tables $BACKUP_DIR/$partial.sha256"
  ch "SELECT name, total_rows FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree'
      ORDER BY name" --param_db="$DATABASE" > "$BACKUP_DIR/$partial.tables"
  log "backing up ClickHouse database $DATABASE to $final"
  run_async "BACKUP DATABASE $DATABASE TO Disk('$DISK', '$partial')" BACKUP_CREATED ||
    die "the ClickHouse backup failed; nothing was published"
  verify_archive "$BACKUP_DIR/$partial" || die "the new ClickHouse backup failed verification; nothing was published"
  printf '%s  %s\n' "$(sha256_of "$BACKUP_DIR/$partial")" "$1" > "$BACKUP_DIR/$partial.sha256"
  sync
  mv -f "$BACKUP_DIR/$partial.tables" "$final.tables"
  mv -f "$BACKUP_DIR/$partial.sha256" "$final.sha256"
  mv -f "$BACKUP_DIR/$partial" "$final"
  CLEANUP=""
  log "ClickHouse backup written and verified: $final ($(wc -c < "$final") bytes, $(wc -l < "$final.tables") tables)"
}

# What is wrong with a restored copy (database $1) against the counts recorded at backup time
# ($2, <name>.tables), one problem per line; nothing when it is sound. Every MergeTree table
# recorded is there; each that had rows then has rows now (merges may shrink a count, never to
# zero); each table of CLICKHOUSE_NONEMPTY has rows (Snuba's migrations table always does).
restored_problems() {
  # The blank first line keeps awk reading the restored list first even when it is empty.
  { echo; ch "SELECT name, total_rows FROM system.tables WHERE database = {db:String}" --param_db="$1"; } |
    awk -F '\t' -v nonempty=" ${CLICKHOUSE_NONEMPTY-migrations_local} " '
      NR == FNR { if ($1 != "") now[$1] = $2; next }
      { if (!($1 in now)) print "table " $1 " is missing"
        else if ($2 != "\\N" && $2 + 0 > 0 && now[$1] + 0 == 0) print "table " $1 " had " $2 " rows and came back empty" }
      END { n = split(nonempty, names, " ")
            for (i = 1; i <= n; i++) if (!(names[i] in now) || now[names[i]] + 0 == 0) print "table " names[i] " is empty or missing" }
    ' - "$2"
}

# The UTC start stamp in a file name (<prefix>-<stamp>.<ext>) as a number that sorts by time.
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

# The newest set's value for KEY (postgres, clickhouse), or nothing.
newest_set() {
  # shellcheck disable=SC2012 # our own file names: no spaces or newlines
  ls -1t "$BACKUP_DIR/${SET_NAME:-sentry}"-*.set 2>/dev/null | head -n 1
}
set_value() { sed -n "s/^$2=//p" "$1" | head -n 1; }

# Removes archives older than $1 days (with their checksum and table counts), never the newest
# daily nor the newest pre-upgrade one, and sets that name a file which is gone.
prune_clickhouse() {
  # shellcheck disable=SC2012
  keep_daily="$(ls -1t "$BACKUP_DIR"/clickhouse-[0-9]*.tar 2>/dev/null | head -n 1)"
  # shellcheck disable=SC2012
  keep_upgrade="$(ls -1t "$BACKUP_DIR"/clickhouse-pre-upgrade-*.tar 2>/dev/null | head -n 1)"
  find "$BACKUP_DIR" -maxdepth 1 -type f -name 'clickhouse-*.tar' -mmin +"$(( $1 * 1440 ))" |
    while read -r old; do
      if [ "$old" != "$keep_daily" ] && [ "$old" != "$keep_upgrade" ]; then
        rm -f "$old" "$old.sha256" "$old.tables"
        log "removed $old (older than $1 days)"
      fi
    done
  for set_file in "$BACKUP_DIR/${SET_NAME:-sentry}"-*.set; do
    [ -f "$set_file" ] || continue
    for key in postgres clickhouse; do
      named="$(set_value "$set_file" "$key")"
      case "$named" in ''|external*) continue ;; esac
      if [ ! -f "$BACKUP_DIR/$named" ]; then
        rm -f "$set_file"
        log "removed $set_file: its $key backup $named is gone"
        break
      fi
    done
  done
  find "$BACKUP_DIR" -maxdepth 1 -type f -name '.partial-clickhouse-*' -mmin +1440 -exec rm -f {} +
}
