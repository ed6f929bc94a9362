# Shared by backup.sh, pre_upgrade.sh, restore.sh and drill.sh (sourced, POSIX sh: the Debian and
# Alpine Postgres images both run it). libpq reads the connection from PGHOST, PGPORT, PGUSER and
# PGPASSWORD; PGDATABASE names the app's database, and every file below is named after it.
set -eu

BACKUP_DIR="${BACKUP_DIR:-/backups}"
: "${PGDATABASE:?set PGDATABASE to the database to back up or restore}"
DB="$PGDATABASE"

# The server-side memory of our own sessions (index builds during a restore) stays small, so a
# drill on the live server does not push Postgres over its container limit.
export PGOPTIONS="${PGOPTIONS:--c maintenance_work_mem=16MB -c work_mem=4MB}"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
utc_stamp() { date -u +%Y%m%dT%H%M%SZ; }

# A database name we create, rename or drop: plain lower-case, so it never needs quoting tricks.
check_identifier() {
  case "$1" in
    ''|*[!a-z0-9_]*) die "database name '$1' must be lower-case letters, digits and underscores" ;;
  esac
  [ "${#1}" -le 63 ] || die "database name '$1' is longer than 63 characters"
}

# Writes $2 into file $1 so that readers see the old or the new content, never half of it.
write_atomically() {
  printf '%s\n' "$2" > "$1.tmp.$$"
  mv -f "$1.tmp.$$" "$1"
}

sha256_of() { sha256sum < "$1" | cut -d ' ' -f 1; }

# Verified dumps only: a dump becomes visible under its final name after verification, so every
# `<db>-*.dump` is one; the newest by modification time, or nothing.
newest_dump() {
  # shellcheck disable=SC2012 # our own file names: no spaces or newlines
  ls -1t "$BACKUP_DIR/$DB"-*.dump 2>/dev/null | head -n 1
}

# Proves a dump restorable without a server: its checksum still matches what was written, the
# table of contents reads, and every data block decompresses (pg_restore renders the whole
# archive as SQL into /dev/null, so a truncated or corrupted file fails here, not at restore).
verify_dump() {
  [ -s "$1" ] || { log "$1 is missing or empty"; return 1; }
  if [ -f "$1.sha256" ] && [ "$(sha256_of "$1")" != "$(cut -d ' ' -f 1 "$1.sha256")" ]; then
    log "$1 does not match its checksum $1.sha256 (changed or corrupted since it was written)"
    return 1
  fi
  pg_restore --list "$1" > /dev/null || { log "$1: unreadable table of contents"; return 1; }
  pg_restore --file=/dev/null "$1" || { log "$1: a data block does not read back"; return 1; }
}

# Dumps the database to $BACKUP_DIR/$1: written under a hidden temporary name, verified, given a
# checksum file, flushed, and only then renamed into place.
take_dump() {
  final="$BACKUP_DIR/$1"
  partial="$BACKUP_DIR/.partial-$$-$1"
  trap 'rm -f "$partial" "$partial.sha256"' EXIT
  log "dumping database $DB to $final"
  pg_dump --format=custom --file="$partial" "$DB"
  verify_dump "$partial" || die "the new dump failed verification; nothing was published"
  printf '%s  %s\n' "$(sha256_of "$partial")" "$1" > "$partial.sha256"
  sync
  mv -f "$partial.sha256" "$final.sha256"
  mv -f "$partial" "$final"
  trap - EXIT
  log "backup written and verified: $final ($(wc -c < "$final") bytes)"
}

# Removes dumps older than $1 days, but never the newest daily dump nor the newest pre-upgrade
# dump: when backups stop, retention must not delete the last good copy.
prune_dumps() {
  # shellcheck disable=SC2012 # our own file names: no spaces or newlines
  keep_daily="$(ls -1t "$BACKUP_DIR/$DB"-[0-9]*.dump 2>/dev/null | head -n 1)"
  # shellcheck disable=SC2012
  keep_upgrade="$(ls -1t "$BACKUP_DIR/$DB"-pre-upgrade-*.dump 2>/dev/null | head -n 1)"
  find "$BACKUP_DIR" -maxdepth 1 -type f -name "$DB-*.dump" -mmin +"$(( $1 * 1440 ))" |
    while read -r old; do
      if [ "$old" != "$keep_daily" ] && [ "$old" != "$keep_upgrade" ]; then
        rm -f "$old" "$old.sha256"
        log "removed $old (older than $1 days)"
      fi
    done
  # Temporary files of runs that were killed half-way.
  find "$BACKUP_DIR" -maxdepth 1 -type f -name ".partial-*" -mmin +1440 -exec rm -f {} +
}
