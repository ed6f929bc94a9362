# Shared by backup.sh, pre_upgrade.sh, restore.sh and drill.sh (sourced, POSIX sh: the Debian and
# Alpine Postgres images both run it). libpq reads the connection from PGHOST, PGPORT, PGUSER and
# PGPASSWORD; PGDATABASE names the app's database, and every file below is named after it.
# Environment: as backup_lib.sh, plus DUMP_LOCK_WAIT_SECONDS (600).
. "$(dirname "$0")/backup_lib.sh"

: "${PGDATABASE:?set PGDATABASE to the database to back up or restore}"
DB="$PGDATABASE"

# The server-side memory of our own sessions (index builds during a restore) stays small, so a
# drill on the live server does not push Postgres over its container limit.
export PGOPTIONS="${PGOPTIONS:--c maintenance_work_mem=16MB -c work_mem=4MB}"

# A database name we create, rename or drop: plain lower-case, so it never needs quoting tricks.
check_identifier() {
  case "$1" in
    ''|*[!a-z0-9_]*) die "database name '$1' must be lower-case letters, digits and underscores" ;;
  esac
  [ "${#1}" -le 63 ] || die "database name '$1' is longer than 63 characters"
}

# The newest trusted dump (backup_lib.sh: untrusted), or nothing.
newest_dump() { newest_trusted "$BACKUP_DIR/$DB-*.dump"; }

# Proves a dump's content restorable without a server: the table of contents reads, and every
# data block decompresses (pg_restore renders the whole archive as SQL into /dev/null, so a
# truncated or corrupted file fails here, not at restore).
verify_contents() {
  pg_restore --list "$1" > /dev/null || { log "$2: unreadable table of contents"; return 1; }
  pg_restore --file=/dev/null "$1" || { log "$2: a data block does not read back"; return 1; }
}

# Verifies dump $1 (named $2 in messages, its checksum file $2.sha256): it still matches the
# checksum written when it was verified, and its content reads. No checksum file, no
# verification: unless CHECKSUM_OPTIONAL=yes (restore.sh --no-checksum), which says so loudly.
verify_dump() {
  [ -s "$1" ] || { log "$2 is missing or empty"; return 1; }
  if [ -f "$2.sha256" ]; then
    checksum_ok "$1" "$2.sha256" || {
      log "$2 does not match its checksum $2.sha256 (changed or corrupted since it was written)"; return 1; }
  elif [ "${CHECKSUM_OPTIONAL:-}" = yes ]; then
    log "WARNING: $2 has no checksum file: restoring it unchecked because --no-checksum was given"
  else
    log "$2 has no checksum file $2.sha256: it cannot be proven unchanged since it was written"
    log "(a dump copied back from the bucket comes with its .sha256; otherwise restore.sh --no-checksum)"
    return 1
  fi
  verify_contents "$1" "$2"
}

# Dumps the database to $BACKUP_DIR/$1-<UTC stamp>.dump under the lock of this database: written
# under a hidden temporary name, verified, given a checksum file, flushed, and only then renamed
# into place. pg_dump gives up after DUMP_LOCK_WAIT_SECONDS waiting for a table a migration (or a
# stuck session) holds, instead of hanging.
PARTIAL=""
drop_partial() { [ -z "$PARTIAL" ] || rm -f "$PARTIAL" "$PARTIAL.sha256"; }
at_exit drop_partial
take_dump() {
  take_lock "$DB"
  name="$(fresh_name "$1" .dump)"
  final="$BACKUP_DIR/$name"
  PARTIAL="$BACKUP_DIR/.partial-$$-$name"
  log "dumping database $DB to $final"
  pg_dump --format=custom --lock-wait-timeout="${DUMP_LOCK_WAIT_SECONDS:-600}s" --file="$PARTIAL" "$DB" ||
    die "pg_dump failed; nothing was published"
  verify_contents "$PARTIAL" "$final" || die "the new dump failed verification; nothing was published"
  printf '%s  %s\n' "$(sha256_of "$PARTIAL")" "$name" > "$PARTIAL.sha256"
  sync
  mv -f "$PARTIAL.sha256" "$final.sha256"
  mv -f "$PARTIAL" "$final"
  PARTIAL=""
  log "backup written and verified: $final ($(wc -c < "$final") bytes)"
}

# Retention (backup_lib.sh: prune_backups), then temporary files of this database's runs that
# were killed half-way.
prune_dumps() {
  take_lock "$DB"
  prune_backups "$1" "$BACKUP_DIR/$DB-[0-9]*.dump" "$BACKUP_DIR/$DB-pre-upgrade-*.dump" ".sha256"
  find "$BACKUP_DIR" -maxdepth 1 -type f -name ".partial-*-$DB-*" -mmin +1440 -exec rm -f {} + ||
    log "warning: could not remove old temporary files"
}
