# What every backup script does with the files on the backups volume (sourced, POSIX sh: it runs
# in the Postgres images (Debian or Alpine), the ClickHouse image (Ubuntu) and rclone's (Alpine)):
# one run at a time per store, outcomes recorded even on a full volume, and the rules for which
# files count as good backups and which ones retention may delete.
# Environment: BACKUP_DIR (/backups), CLOCK_SLACK_SECONDS (300), LOCK_WAIT_SECONDS (7200),
# RETENTION_KEEP (3).
set -eu

BACKUP_DIR="${BACKUP_DIR:-/backups}"
# A file dated further ahead than this is not trusted: the clock that wrote it (or ours) is wrong.
CLOCK_SLACK_SECONDS="${CLOCK_SLACK_SECONDS:-300}"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
utc_stamp() { date -u +%Y%m%dT%H%M%SZ; }
sha256_of() { sha256sum < "$1" | cut -d ' ' -f 1; }
now() { date +%s; }
# A file's modification time in epoch seconds (GNU and BusyBox stat alike); 0 when it is gone.
mtime() { stat -c %Y "$1" 2>/dev/null || echo 0; }

# A script that sets FAILED_FILE records there why it failed (health checks and the watchdog read
# it), whether it stopped through `die` or through `set -e`.
RECORDED=""
record_failure() {
  if [ -n "${FAILED_FILE:-}" ] && [ -z "$RECORDED" ]; then
    RECORDED=1
    record_result "$FAILED_FILE" "$(date -u +%Y-%m-%dT%H:%M:%SZ) $1" || true
  fi
}
die() { log "ERROR: $*"; record_failure "$*"; exit 1; }

# Commands (function names) run when the script exits, however it exits; each gets the status.
EXIT_HOOKS=""
at_exit() { EXIT_HOOKS="$1 $EXIT_HOOKS"; }
run_exit_hooks() {
  status=$?
  for hook in $EXIT_HOOKS; do "$hook" "$status" || true; done
}
trap run_exit_hooks EXIT
failure_hook() { [ "$1" -eq 0 ] || record_failure "stopped with status $1; see the log"; }
at_exit failure_hook
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Writes $2 into file $1 so that readers see the old or the new content, never half of it.
write_atomically() {
  if printf '%s\n' "$2" > "$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"; then return 0; fi
  rm -f "$1.tmp.$$"
  return 1
}

# Records an outcome ($2, one line) in $1 for health checks and the watchdog. On a full volume,
# where no data block can be written, $1 is still replaced by an empty file (truncating needs no
# block): its time says that it happened, and readers report the reason as not recorded.
record_result() {
  write_atomically "$1" "$2" 2>/dev/null && return 0
  if true 2>/dev/null > "$1"; then  # `true`, not `:`: a failed redirection of `:` ends the script
    log "the backups volume is full: $(basename "$1") records the time only"
    return 0
  fi
  log "could not record $(basename "$1"): $BACKUP_DIR is full or not writable"
  return 1
}

# Holds the lock of store $1 until the script exits: two backups of one store never run at once.
# A second run waits up to LOCK_WAIT_SECONDS for the first, then stops saying who holds it.
# flock(1) (util-linux in the Debian and Ubuntu images, BusyBox's in Alpine's) takes a kernel
# lock that is released when its holder dies, so a killed run never blocks the next one.
LOCKED=""
take_lock() {
  [ -z "$LOCKED" ] || return 0
  command -v flock > /dev/null || die "flock is missing from this image: no backup without the lock"
  lock="$BACKUP_DIR/.lock-$1"
  # (A failed redirection of `exec` would end the script unexplained: tried in a subshell first.)
  if ! (: >> "$lock") 2>/dev/null; then
    die "cannot open the lock file $lock: is $BACKUP_DIR writable by uid $(id -u)?"
  fi
  exec 9>>"$lock"
  deadline=$(( $(now) + ${LOCK_WAIT_SECONDS:-7200} ))
  announced=""
  until flock -n 9; do
    holder="$(head -n 1 "$lock" 2>/dev/null || true)"
    if [ "$(now)" -ge "$deadline" ]; then
      die "another backup of $1 still holds $lock (${holder:-holder unknown}) after ${LOCK_WAIT_SECONDS:-7200} s of waiting: this run backed nothing up"
    fi
    if [ -z "$announced" ]; then
      log "another backup of $1 is running (${holder:-holder unknown}): waiting up to ${LOCK_WAIT_SECONDS:-7200} s"
      announced=1
    fi
    sleep 1
  done
  LOCKED="$1"
  printf '%s\n' "$(basename "$0") (pid $$) since $(date -u +%Y-%m-%dT%H:%M:%SZ)" 2>/dev/null > "$lock" || true
}

# A file name $1-<UTC stamp>$2 that no file in BACKUP_DIR has yet: two runs within one second
# (one after the other, under the lock) never write to the same name.
fresh_name() {
  while :; do
    name="$1-$(utc_stamp)$2"
    [ -e "$BACKUP_DIR/$name" ] || break
    sleep 1
  done
  printf '%s\n' "$name"
}

# Why file $1 is not to be trusted as a backup, or nothing: a backup is a non-empty regular file
# with its checksum file beside it (both written only after the backup was verified), not dated
# in the future. Cheap (no read of the data): health checks run it every few minutes.
untrusted() {
  if [ ! -f "$1" ] || [ ! -s "$1" ]; then echo "is empty or missing"; return 0; fi
  if [ ! -s "$1.sha256" ]; then echo "has no checksum file $(basename "$1").sha256"; return 0; fi
  ahead=$(( $(mtime "$1") - $(now) ))
  if [ "$ahead" -gt "$CLOCK_SLACK_SECONDS" ]; then echo "is dated $(( ahead / 3600 )) h in the future"; fi
}

# Whether $1 still matches the checksum written beside it ($2, default $1.sha256): reads it all.
checksum_ok() {
  sums="${2:-$1.sha256}"
  [ -s "$sums" ] && [ "$(sha256_of "$1")" = "$(cut -d ' ' -f 1 "$sums")" ]
}

# The files matching the patterns in $@ (unquoted globs), newest first by modification time.
newest_first() {
  # shellcheck disable=SC2012,SC2068 # our own file names (no spaces); the patterns are globs
  ls -1t $@ 2>/dev/null || true
}

# The newest trusted backup among the patterns in $@, or nothing. With PASSING_OVER=log, every
# newer file passed over is logged with the reason.
newest_trusted() {
  for file in $(newest_first "$@"); do
    why="$(untrusted "$file")"
    if [ -z "$why" ]; then printf '%s\n' "$file"; return 0; fi
    [ "${PASSING_OVER:-}" != log ] || log "passing over $(basename "$file"): it $why"
  done
}

# Retention over the backups matching $2 (daily) and $3 (before upgrades), each with the
# companion files named by the suffixes in $4. A backup goes only when it is older than $1 days,
# AND at least $1 newer trusted backups exist (a clock that jumps ahead ages every file at once:
# age is a hint, the count decides), AND at least RETENTION_KEEP of those still match their
# checksums now (read newest first), AND it is neither the newest daily nor the newest
# pre-upgrade backup (a rollback point however old). A file that cannot be removed is left with a
# warning.
prune_backups() {
  days="$1" daily="$2" upgrade="$3" companions="$4"
  keep="${RETENTION_KEEP:-3}" limit=$(( $1 * 86400 )) started="$(now)"
  protected=" $(newest_first "$daily" | head -n 1) $(newest_first "$upgrade" | head -n 1)"
  protected="$protected $(newest_trusted "$daily") $(newest_trusted "$upgrade") "
  due=""
  for file in $(newest_first "$daily" "$upgrade"); do
    case "$protected" in *" $file "*) continue ;; esac
    [ $(( started - $(mtime "$file") )) -le "$limit" ] || { due=1; break; }
  done
  [ -n "$due" ] || return 0
  newer=0 verified=0
  for file in $(newest_first "$daily" "$upgrade"); do
    case "$protected" in *" $file "*) ;; *)
      if [ $(( started - $(mtime "$file") )) -gt "$limit" ]; then
        if [ "$newer" -ge "$days" ] && [ "$verified" -ge "$keep" ]; then
          removed=1
          for suffix in '' $companions; do rm -f "$file$suffix" || removed=""; done
          if [ -n "$removed" ]; then log "removed $file (older than $days days)"; else log "warning: could not remove $file"; fi
          continue
        fi
        log "keeping $file though older than $days days: only $newer newer good backups ($verified verified; $days and $keep needed)"
      fi ;;
    esac
    if [ -z "$(untrusted "$file")" ]; then
      newer=$(( newer + 1 ))
      if [ "$verified" -lt "$keep" ]; then
        if checksum_ok "$file"; then verified=$(( verified + 1 )); else log "warning: $file no longer matches its checksum"; fi
      fi
    fi
  done
}
