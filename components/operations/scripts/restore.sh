# Restores a dump; the monthly drill and the README's disaster runbook both run this script.
#
#   restore.sh DUMP NEW_DATABASE   verify DUMP, restore it into NEW_DATABASE (which must not exist)
#                                  and run the sanity checks there; the drill uses this form.
#   restore.sh --replace DUMP      the same into <db>_restoring, then swap it in for $PGDATABASE;
#                                  the database it replaces is kept as <db>_before_<stamp>.
#
# Sanity checks: $CHECKS_SQL (a psql script) is run in the restored database; every row it prints
# names a problem, so no output means the checks pass. Each CHECK_<NAME> variable in the environment
# reaches the script as the psql variable <name> (lower case): CHECK_ORGANIZATION -> :'organization'.
# Environment: PG* (connection; PGDATABASE is the live database), BACKUP_DIR, CHECKS_SQL.
. "$(dirname "$0")/common.sh"

usage() { die "usage: restore.sh DUMP NEW_DATABASE | restore.sh --replace DUMP"; }

# psql against a maintenance database, for statements about databases themselves.
admin_psql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "${MAINTENANCE_DATABASE:-postgres}" "$@"; }

database_exists() {
  [ "$(admin_psql -v name="$1" <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'name';
SQL
)" = 1 ]
}

run_checks() {
  checked="$1"
  [ -n "${CHECKS_SQL:-}" ] || { log "no CHECKS_SQL given: restored without sanity checks"; return 0; }
  set --
  for name in $(env | sed -n 's/^CHECK_\([A-Z0-9_]*\)=.*/\1/p'); do
    eval "value=\${CHECK_$name}"
    # shellcheck disable=SC2154 # set by the eval above
    set -- "$@" -v "$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')=$value"
  done
  problems="$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$checked" "$@" -f "$CHECKS_SQL" 2>&1)" || {
    log "sanity checks could not run in $checked: $problems"; return 1; }
  if [ -n "$problems" ]; then
    log "sanity checks failed in $checked:"
    printf '%s\n' "$problems" | sed 's/^/  - /' >&2
    return 1
  fi
  log "sanity checks passed in $checked ($(psql -X -A -t -d "$checked" -c \
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") tables)"
}

# Verify, create, restore, check. Leaves $2 behind on failure for the caller to inspect or drop.
restore_into() {
  dump="$1" target="$2"
  check_identifier "$target"
  log "verifying $dump"
  verify_dump "$dump" || die "$dump failed verification; nothing was restored"
  if database_exists "$target"; then die "database $target already exists; choose another name"; fi
  admin_psql -v name="$target" <<'SQL'
CREATE DATABASE :"name";
SQL
  log "restoring $dump into $target"
  # Owner and grants are the restoring role's: the app has one role, and a dump restored on a
  # new server must not depend on roles that exist only on the old one.
  pg_restore --exit-on-error --no-owner --no-privileges --dbname="$target" "$dump" ||
    die "pg_restore failed; $target holds a partial restore"
  run_checks "$target" || die "the restored database $target failed its sanity checks"
}

replace_live() {
  dump="$1" live="$DB" staging="${DB}_restoring"
  old="${DB}_before_$(utc_stamp | tr '[:upper:]' '[:lower:]')"
  check_identifier "$live"
  if database_exists "$staging"; then
    log "dropping $staging left by an earlier attempt"
    admin_psql -v name="$staging" <<'SQL'
DROP DATABASE :"name" WITH (FORCE);
SQL
  fi
  restore_into "$dump" "$staging" || exit 1
  log "swapping $staging in for $live; the current $live is kept as $old"
  tries=0
  until admin_psql -v live="$live" -v old="$old" -v staging="$staging" <<'SQL'
SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'live') AS live_exists \gset
\if :live_exists
ALTER DATABASE :"live" WITH ALLOW_CONNECTIONS false;
SELECT count(pg_terminate_backend(pid)) AS terminated FROM pg_stat_activity
  WHERE datname = :'live' AND pid <> pg_backend_pid() \gset
ALTER DATABASE :"live" RENAME TO :"old";
ALTER DATABASE :"old" WITH ALLOW_CONNECTIONS true;
\endif
ALTER DATABASE :"staging" RENAME TO :"live";
SQL
  do
    # Terminated sessions take a moment to go away; the rename refuses while they are there.
    tries=$((tries + 1))
    [ "$tries" -lt 10 ] || die "could not swap the databases: sessions keep reconnecting to $live (stop web and worker)"
    sleep 1
  done
  # The dump's version is known when it is a pre-upgrade dump; otherwise it is not.
  version="$(basename "$dump" | sed -n "s/^$DB-pre-upgrade-from-\(.*\)-[0-9]\{8\}T[0-9]\{6\}Z\.dump\$/\1/p")"
  if [ -n "$version" ] && [ "$version" != unknown ]; then
    write_atomically "$BACKUP_DIR/.$DB-app-version" "$version"
  else
    rm -f "$BACKUP_DIR/.$DB-app-version"
  fi
  log "restored $dump as $live; drop $old once the service is back: DROP DATABASE $old;"
}

case "${1:-}" in
  --replace) [ $# -eq 2 ] || usage; replace_live "$2" ;;
  -*|'') usage ;;
  *) [ $# -eq 2 ] || usage; restore_into "$1" "$2" ;;
esac
