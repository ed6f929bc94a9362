# Health checks over the files beside the backups (no database, no network: runs in any image).
#   health.sh backup DB HOURS    the newest trusted <DB>-*.dump (backup_lib.sh: untrusted) is
#                                younger than HOURS
#   health.sh result NAME HOURS  .last-NAME-ok is younger than HOURS, not dated in the future,
#                                and no .last-NAME-failed is newer
# Environment: BACKUP_DIR (/backups), CLOCK_SLACK_SECONDS (300).
. "$(dirname "$0")/backup_lib.sh"

# Seconds since $1 was written; fails when it is missing or dated in the future.
age_of() {
  [ -f "$1" ] || return 1
  age=$(( $(now) - $(mtime "$1") ))
  [ "$age" -ge "-$CLOCK_SLACK_SECONDS" ] || return 1
  printf '%s\n' "$age"
}

case "${1:-}" in
  backup)
    newest="$(newest_trusted "$BACKUP_DIR/$2-*.dump")"
    [ -n "$newest" ] && [ "$(age_of "$newest")" -lt $(( $3 * 3600 )) ] ;;
  result)
    ok="$BACKUP_DIR/.last-$2-ok" failed="$BACKUP_DIR/.last-$2-failed"
    age="$(age_of "$ok")" && [ "$age" -lt $(( $3 * 3600 )) ] || exit 1
    [ ! -f "$failed" ] || [ "$(mtime "$failed")" -le "$(mtime "$ok")" ] ;;
  *) echo "usage: health.sh backup DB HOURS | health.sh result NAME HOURS" >&2; exit 2 ;;
esac
