# Restores a dump; the monthly drill and the README's disaster runbook both run this script.
#
#   restore.sh DUMP NEW_DATABASE   verify DUMP, restore it into NEW_DATABASE (which must not exist)
#                                  and run the sanity checks there; the drill uses this form.
#   restore.sh --replace DUMP      the same into <db>_restoring, then swap it in for $PGDATABASE;
#                                  the database it replaces is kept as <db>_before_<stamp>.
#   --no-checksum (first)          restore a dump that has no .sha256 beside it (said loudly).
#
# The dump is opened once: the checksum, the content check and the restore all read that one
# file, even if something renames another file over its name meanwhile.
# Sanity checks: $CHECKS_SQL (a psql script) is run in the restored database; every row it prints
# names a problem, so no output means the checks pass. Each CHECK_<NAME> variable in the environment
# reaches the script as the psql variable <name> (lower case): CHECK_ORGANIZATION -> :'organization',
# through psql's standard input (never its command line). CHECKS_REDACT=1: the values were set as
# secrets, so messages name them by position only.
# Statements about databases give up after RESTORE_LOCK_TIMEOUT_SECONDS (30) waiting for a lock
# another session holds; the swap waits SWAP_WAIT_SECONDS (60) for the live database's sessions to
# end. Whatever fails, the live database is left accepting connections, and the message says where
# each database is.
# Environment: PG* (connection; PGDATABASE is the live database), BACKUP_DIR, CHECKS_SQL.
. "$(dirname "$0")/common.sh"

usage() { die "usage: restore.sh [--no-checksum] DUMP NEW_DATABASE | restore.sh [--no-checksum] --replace DUMP"; }

# psql against a maintenance database, for statements about databases themselves; a lock held by
# another session makes it fail after the timeout instead of waiting for ever.
admin_psql() {
  PGOPTIONS="$PGOPTIONS -c lock_timeout=${RESTORE_LOCK_TIMEOUT_SECONDS:-30}s" \
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "${MAINTENANCE_DATABASE:-postgres}" "$@"
}

database_exists() {
  [ "$(admin_psql -v name="$1" <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'name';
SQL
)" = 1 ]
}

run_checks() {
  checked="$1"
  [ -n "${CHECKS_SQL:-}" ] || { log "no CHECKS_SQL given: restored without sanity checks"; return 0; }
  names="$(env | sed -n 's/^CHECK_\([A-Z0-9_]*\)=.*/\1/p')"
  # Each value is read by psql from the environment (a backquoted printf in \set): neither it nor
  # the psql command line ever holds it.
  problems="$(
    {
      for name in $names; do
        # shellcheck disable=SC2016 # "$CHECK_<NAME>" is for the shell psql starts, not this one
        printf '\\set %s `printf %%s "$CHECK_%s"`\n' "$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')" "$name"
      done
      if [ -n "${CHECKS_REDACT:-}" ]; then printf '\\set VERBOSITY terse\n\\set redact 1\n'; else printf '\\set redact 0\n'; fi
      cat "$CHECKS_SQL"
    } | psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$checked" -f - 2>&1
  )" || { log "sanity checks could not run in $checked: $problems"; return 1; }
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
  [ -f "$dump" ] || die "$dump: no such file; nothing was restored"
  [ -r "$dump" ] || die "$dump is not readable by uid $(id -u); nothing was restored"
  exec 8< "$dump"
  opened=/proc/self/fd/8
  log "verifying $dump"
  verify_dump "$opened" "$dump" || die "$dump failed verification; nothing was restored"
  if database_exists "$target"; then die "database $target already exists; choose another name"; fi
  admin_psql -v name="$target" <<'SQL' || die "could not create database $target; nothing was restored"
CREATE DATABASE :"name";
SQL
  log "restoring $dump into $target"
  # Owner and grants are the restoring role's: the app has one role, and a dump restored on a
  # new server must not depend on roles that exist only on the old one.
  pg_restore --exit-on-error --no-owner --no-privileges --dbname="$target" "$opened" ||
    die "pg_restore failed; $target holds a partial restore"
  run_checks "$target" || die "the restored database $target failed its sanity checks"
}

allow_connections() {
  admin_psql -v name="$1" -v allow="$2" <<'SQL'
ALTER DATABASE :"name" WITH ALLOW_CONNECTIONS :allow;
SQL
}

rename_database() {
  admin_psql -v from="$1" -v to="$2" <<'SQL'
ALTER DATABASE :"from" RENAME TO :"to";
SQL
}

# The other sessions on database $1, one "pid <pid> (<user>, <application>, <state>)" a line.
sessions_on() {
  admin_psql -v name="$1" <<'SQL'
SELECT format('pid %s (%s, %s, %s)', pid, usename, coalesce(nullif(application_name, ''), 'no application name'),
              coalesce(state, 'state not shown to this role'))
FROM pg_stat_activity WHERE datname = :'name' AND pid <> pg_backend_pid();
SQL
}

end_sessions() {
  admin_psql -v name="$1" <<'SQL'
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'name' AND pid <> pg_backend_pid();
SQL
}

# The live database closed to new sessions, if any: reopened whatever happens next.
CLOSED=""
reopen_closed() {
  [ -n "$CLOSED" ] || return 0
  if allow_connections "$CLOSED" true; then
    log "$CLOSED accepts connections again"
  else
    log "ERROR: could not reopen $CLOSED: run ALTER DATABASE $CLOSED WITH ALLOW_CONNECTIONS true;"
  fi
  CLOSED=""
}
at_exit reopen_closed

# Closes $1 to new sessions and ends the open ones; stops (live unchanged) when they do not end.
close_live() {
  live="$1" staging="$2"
  allow_connections "$live" false ||
    die "could not close $live to new sessions (see above): nothing changed, $live is live as before; the restored copy waits in $staging"
  CLOSED="$live"
  deadline=$(( $(now) + ${SWAP_WAIT_SECONDS:-60} ))
  while :; do
    left="$(sessions_on "$live")" || left="(could not list them)"
    [ -n "$left" ] || return 0
    if [ "$(now)" -ge "$deadline" ]; then
      reopen_closed
      die "sessions on $live did not end within ${SWAP_WAIT_SECONDS:-60} s: $(printf '%s' "$left" | tr '\n' ';'). Nothing changed: $live is live as before and accepts connections; the restored copy waits in $staging. Stop what holds them and run this again"
    fi
    end_sessions "$live" > /dev/null 2>&1 || true
    sleep 1
  done
}

# After a failed --replace: the live database reopened, then where each database is.
report_databases() {
  [ "$1" -ne 0 ] || return 0
  reopen_closed
  state="$(admin_psql -v live="$live" -v staging="$staging" -v old="$old" <<'SQL'
SELECT datname || CASE WHEN datallowconn THEN ' (accepting connections)' ELSE ' (CLOSED to connections)' END
FROM pg_database WHERE datname IN (:'live', :'staging', :'old') ORDER BY datname;
SQL
)" || state="(could not be listed)"
  log "databases now: $(printf '%s' "$state" | tr '\n' ';' | sed 's/;/; /g')"
}

replace_live() {
  dump="$1" live="$DB" staging="${DB}_restoring"
  old="${DB}_before_$(utc_stamp | tr '[:upper:]' '[:lower:]')"
  check_identifier "$live"
  at_exit report_databases
  if database_exists "$staging"; then
    log "dropping $staging left by an earlier attempt"
    admin_psql -v name="$staging" <<'SQL' || die "could not drop $staging left by an earlier attempt; nothing was restored"
DROP DATABASE :"name" WITH (FORCE);
SQL
  fi
  restore_into "$dump" "$staging" || exit 1
  if database_exists "$live"; then
    log "swapping $staging in for $live; the current $live is kept as $old"
    close_live "$live" "$staging"
    rename_database "$live" "$old" ||
      die "could not rename $live to $old (see above): nothing changed, $live is live as before; the restored copy waits in $staging"
    CLOSED="$old"
  fi
  if ! rename_database "$staging" "$live"; then
    [ -n "$CLOSED" ] || die "could not rename $staging to $live (see above); there was no $live before; the restored copy waits in $staging"
    if rename_database "$old" "$live"; then
      CLOSED="$live"
      die "could not rename $staging to $live (see above): $live is the previous database again; the restored copy waits in $staging"
    fi
    die "no database is named $live now: the previous one is $old, the restored copy $staging. Rename one of them: ALTER DATABASE $staging RENAME TO $live;"
  fi
  reopen_closed
  # The dump's version is known when it is a pre-upgrade dump; otherwise it is not.
  version="$(basename "$dump" | sed -n "s/^$DB-pre-upgrade-from-\(.*\)-[0-9]\{8\}T[0-9]\{6\}Z\.dump\$/\1/p")"
  if [ -n "$version" ] && [ "$version" != unknown ]; then
    write_atomically "$BACKUP_DIR/.$DB-app-version" "$version"
  else
    rm -f "$BACKUP_DIR/.$DB-app-version"
  fi
  log "restored $dump as $live; drop $old once the service is back: DROP DATABASE $old;"
}

if [ "${1:-}" = --no-checksum ]; then
  CHECKSUM_OPTIONAL=yes
  shift
fi
case "${1:-}" in
  --replace) [ $# -eq 2 ] || usage; replace_live "$2" ;;
  -*|'') usage ;;
  *) [ $# -eq 2 ] || usage; restore_into "$1" "$2" ;;
esac
