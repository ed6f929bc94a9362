# Health checks over the files beside the backups (no database, no network: runs in any image).
#   health.sh backup DB HOURS    a verified <DB>-*.dump is younger than HOURS
#   health.sh result NAME HOURS  .last-NAME-ok is younger than HOURS and no .last-NAME-failed is newer
# Environment: BACKUP_DIR (/backups).
set -eu
dir="${BACKUP_DIR:-/backups}"
case "${1:-}" in
  backup)
    find "$dir" -maxdepth 1 -type f -name "$2-*.dump" -mmin -"$(( $3 * 60 ))" | grep -q . ;;
  result)
    find "$dir" -maxdepth 1 -name ".last-$2-ok" -mmin -"$(( $3 * 60 ))" | grep -q . || exit 1
    ! find "$dir" -maxdepth 1 -name ".last-$2-failed" -newer "$dir/.last-$2-ok" | grep -q . ;;
  *) echo "usage: health.sh backup DB HOURS | health.sh result NAME HOURS" >&2; exit 2 ;;
esac
