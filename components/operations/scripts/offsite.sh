# Off-site copies: every verified dump (and its checksum) is copied to S3-compatible storage with
# rclone, then copies older than the retention are deleted there. Runs in the rclone image, whose
# remote "offsite" is configured by RCLONE_CONFIG_OFFSITE_* variables (keys as secrets). The result
# is recorded beside the backups (.last-offsite-ok / .last-offsite-failed) for health checks and
# the watchdog; a failure exits non-zero and never touches the local backups.
# Environment: BACKUP_NAME (the database name dumps are named after), BACKUP_DIR (/backups),
# OFFSITE_BUCKET, OFFSITE_PREFIX (optional), RETENTION_DAYS (30), OFFSITE_INCLUDE (more file
# patterns to copy, space-separated: ClickHouse archives), OFFSITE_LAST (a pattern copied after
# everything else: the backup sets, so that a set off-site means its files are there too).
set -eu
dir="${BACKUP_DIR:-/backups}"
: "${BACKUP_NAME:?set BACKUP_NAME to the database the dumps are named after}"
: "${OFFSITE_BUCKET:?set OFFSITE_BUCKET}"
days="${RETENTION_DAYS:-30}"
remote="offsite:$OFFSITE_BUCKET${OFFSITE_PREFIX:+/$OFFSITE_PREFIX}"
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
record() {
  printf '%s\n' "$2" > "$dir/.last-offsite-$1.tmp.$$"
  mv -f "$dir/.last-offsite-$1.tmp.$$" "$dir/.last-offsite-$1"
}
fail() {
  record failed "$(now) $1"
  echo "$(now) ERROR: off-site copy failed: $1" >&2
  exit 1
}
# Only dumps under their final names: they were verified before they got them.
set -- --max-depth 1 --include "$BACKUP_NAME-*.dump" --include "$BACKUP_NAME-*.dump.sha256"
set -f  # the patterns are rclone's, not the shell's
for pattern in ${OFFSITE_INCLUDE:-}; do set -- "$@" --include "$pattern"; done
set +f
# Memory: one file at a time, one 5 MiB multipart chunk in flight, no read-ahead buffer (rclone
# docs: transfers x upload concurrency x chunk size); with GOMEMLIMIT=24MiB it peaked at 47 MB
# copying a 114 MB dump. No bucket creation: the bucket is the operator's. The configuration lives
# in the environment: --config /dev/null keeps rclone from looking for or writing a file.
tuning="--config /dev/null --transfers 1 --checkers 2 --buffer-size 0 --s3-upload-concurrency 1 --s3-chunk-size 5M --s3-no-check-bucket"

# Dumps older than the retention are not sent (they would be deleted there at once).
# shellcheck disable=SC2086 # tuning is a list of flags
rclone copy "$dir" "$remote" "$@" --max-age "${days}d" $tuning --stats-one-line -v || fail "upload to $remote failed (rclone exit $?)"
if [ -n "${OFFSITE_LAST:-}" ]; then
  # shellcheck disable=SC2086
  rclone copy "$dir" "$remote" --max-depth 1 --include "$OFFSITE_LAST" --max-age "${days}d" $tuning -v ||
    fail "upload of the backup sets to $remote failed (rclone exit $?)"
  set -- "$@" --include "$OFFSITE_LAST"
fi

# Remote retention, by the dumps' own times; skipped while no recent dump exists locally, so that
# copies are never all deleted after backups stopped.
if find "$dir" -maxdepth 1 -type f -name "$BACKUP_NAME-*.dump" -mmin -"$(( days * 1440 ))" | grep -q .; then
  # shellcheck disable=SC2086
  rclone delete "$remote" "$@" --min-age "${days}d" $tuning -v || fail "removing copies older than $days days failed"
else
  echo "$(now) no dump younger than $days days here: keeping every remote copy" >&2
fi
count="$(find "$dir" -maxdepth 1 -type f -name "$BACKUP_NAME-*.dump" -mmin -"$(( days * 1440 ))" | wc -l | tr -d ' ')"
record ok "$(now) $count dumps of the last $days days copied to $remote"
echo "$(now) off-site copy done: $remote" >&2
