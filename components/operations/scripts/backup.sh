# The daily backup: a verified custom-format dump named <db>-<UTC stamp>.dump, then retention,
# both under the lock of this database (backup_lib.sh), so a second run waits for the first.
# Environment: PG* (connection), BACKUP_DIR (/backups), RETENTION_DAYS (30), RETENTION_KEEP (3),
# LOCK_WAIT_SECONDS (7200), DUMP_LOCK_WAIT_SECONDS (600).
. "$(dirname "$0")/common.sh"

take_dump "$DB"
prune_dumps "${RETENTION_DAYS:-30}"
