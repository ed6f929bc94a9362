# Off-site copies: every verified dump (and its checksum) is copied to S3-compatible storage with
# rclone, then copies older than the retention that the backups volume no longer holds are
# deleted there: the bucket keeps at least what the volume keeps (the newest pre-upgrade dump,
# however old, included), and nothing is too old to be sent. Runs in the rclone image, whose
# remote "offsite" is configured by RCLONE_CONFIG_OFFSITE_* variables (keys as secrets). The result
# is recorded beside the backups (.last-offsite-ok / .last-offsite-failed) for health checks and
# the watchdog, even when the volume is full (backup_lib.sh: record_result); a failure exits
# non-zero and never touches the local backups.
# Environment: BACKUP_NAME (the database name dumps are named after), BACKUP_DIR (/backups),
# OFFSITE_BUCKET, OFFSITE_PREFIX (optional), RETENTION_DAYS (30), RETENTION_KEEP (3),
# OFFSITE_INCLUDE (more file patterns to copy, space-separated: ClickHouse archives), OFFSITE_LAST
# (a pattern copied after everything else: the backup sets, so that a set off-site means its files
# are there too).
. "$(dirname "$0")/backup_lib.sh"
: "${BACKUP_NAME:?set BACKUP_NAME to the database the dumps are named after}"
: "${OFFSITE_BUCKET:?set OFFSITE_BUCKET}"
dir="$BACKUP_DIR"
days="${RETENTION_DAYS:-30}"
remote="offsite:$OFFSITE_BUCKET${OFFSITE_PREFIX:+/$OFFSITE_PREFIX}"
stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# shellcheck disable=SC2034 # read by die (backup_lib.sh)
FAILED_FILE="$dir/.last-offsite-failed"
fail() { die "off-site copy failed: $1"; }

# Only backups under their final names: they were verified before they got them.
patterns="$BACKUP_NAME-*.dump $BACKUP_NAME-*.dump.sha256 ${OFFSITE_INCLUDE:-}"
set -f  # the patterns are rclone's, not the shell's
set --
for pattern in $patterns; do set -- "$@" --include "$pattern"; done
set +f
# Memory: one file at a time, one 5 MiB multipart chunk in flight, no read-ahead buffer (rclone
# docs: transfers x upload concurrency x chunk size); with GOMEMLIMIT=24MiB it peaked at 47 MB
# copying a 114 MB dump. No bucket creation: the bucket is the operator's. The configuration lives
# in the environment: --config /dev/null keeps rclone from looking for or writing a file.
tuning="--config /dev/null --transfers 1 --checkers 2 --buffer-size 0 --s3-upload-concurrency 1 --s3-chunk-size 5M --s3-no-check-bucket"

# shellcheck disable=SC2086 # tuning is a list of flags
rclone copy "$dir" "$remote" --max-depth 1 "$@" $tuning --stats-one-line -v || fail "upload to $remote failed (rclone exit $?)"
if [ -n "${OFFSITE_LAST:-}" ]; then
  # shellcheck disable=SC2086
  rclone copy "$dir" "$remote" --max-depth 1 --include "$OFFSITE_LAST" $tuning -v ||
    fail "upload of the backup sets to $remote failed (rclone exit $?)"
  patterns="$patterns $OFFSITE_LAST"
fi

# The trusted backups here (backup_lib.sh: untrusted) among the copied patterns.
trusted=0
set -f
for pattern in $patterns; do
  case "$pattern" in *.sha256|*.tables|*.set) continue ;; esac
  set +f
  for file in "$dir"/$pattern; do
    [ -n "$(untrusted "$file")" ] || trusted=$(( trusted + 1 ))
  done
  set -f
done
set +f

# Remote retention: copies older than the retention are deleted unless a file of the same name is
# still here. Skipped while fewer than RETENTION_KEEP trusted backups are here (a new, empty or
# lost volume): the bucket is then the only copy of the history.
keep="${RETENTION_KEEP:-3}"
if [ "$trusted" -ge "$keep" ]; then
  set --
  for file in "$dir"/*; do
    if [ -f "$file" ]; then set -- "$@" --filter "- $(basename "$file")"; fi
  done
  set -f
  for pattern in $patterns; do set -- "$@" --filter "+ $pattern"; done
  set +f
  # shellcheck disable=SC2086
  rclone delete "$remote" --max-depth 1 "$@" --filter "- **" --min-age "${days}d" $tuning -v ||
    fail "removing copies older than $days days failed"
else
  log "only $trusted trusted backups here (fewer than $keep): keeping every remote copy"
fi
count="$(find "$dir" -maxdepth 1 -type f -name "$BACKUP_NAME-*.dump" | wc -l | tr -d ' ')"
record_result "$dir/.last-offsite-ok" "$(stamp) $count dumps here, all copied to $remote" || exit 1
log "off-site copy done: $remote"
