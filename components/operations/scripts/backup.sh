# The daily backup: a verified custom-format dump named <db>-<UTC stamp>.dump, then retention.
# Environment: PG* (connection), BACKUP_DIR (/backups), RETENTION_DAYS (30).
. "$(dirname "$0")/common.sh"

take_dump "$DB-$(utc_stamp).dump"
prune_dumps "${RETENTION_DAYS:-30}"
