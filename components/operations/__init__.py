"""What a small team needs to run error tracking safely, for every app and platform.

- scripts/: verified daily dumps, a pre-upgrade dump, restores (drill and runbook), health checks
  and off-site copies, as POSIX shell run in the deployed Postgres image and rclone's image;
  ClickHouse's backups, drill, pre-upgrade backup and restore (clickhouse_*.sh) in the deployed
  ClickHouse image, paired with the Postgres dumps in backup sets;
- watchdog/: a stdlib-only watchdog that alerts once per failure and once per recovery;
- settings: the top-level `backup:` and `alerts:` sections;
- describe, clickhouse, alerting: the spec objects an app adds to its description.
"""
