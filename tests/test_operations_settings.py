"""`backup:` and `alerts:`: defaults, every bad value refused by its full name, secrets never shown."""

from __future__ import annotations

import pytest

from components.operations.settings import parse_alerts, parse_backup
from components.validation import Problems, Section

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OFFSITE = {"endpoint": "https://s3.eu-central-003.backblazeb2.com", "bucket": "acme-backups",
           "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}


def backup(data):
    problems = Problems()
    return parse_backup(Section(data, "error-tracking:backup", problems), problems), problems.items


def alerts(data):
    problems = Problems()
    return parse_alerts(Section(data, "error-tracking:alerts", problems), problems), problems.items


def test_backup_defaults_daily_at_three_with_a_monthly_drill_two_hours_later():
    settings, problems = backup(None)
    assert problems == []
    assert settings.enabled and settings.retention_days == 30
    assert settings.schedule.cron == "0 3 * * *"
    assert settings.drill.enabled and settings.drill.schedule.cron == "0 5 1 * *"
    assert settings.offsite is None


def test_offsite_defaults_follow_the_backup():
    settings, problems = backup({"hour": 23, "retentionDays": 14, "offsite": OFFSITE})
    assert problems == []
    assert settings.offsite.retention_days == 14 and settings.offsite.schedule.cron == "0 0 * * *"
    assert settings.offsite.provider == "Other" and settings.offsite.prefix is None
    assert "wJalr" not in repr(settings) and "AKIA" not in repr(settings)


@pytest.mark.parametrize("data, message", [
    ({"hour": 24}, "error-tracking:backup.hour: must be a whole number from 0 to 23, got 24"),
    ({"retentionDays": 0}, "error-tracking:backup.retentionDays: must be a whole number from 1 to 3650"),
    ({"drill": {"dayOfMonth": 31}}, "error-tracking:backup.drill.dayOfMonth: must be a whole number from 1 to 28"),
    ({"drill": {"enabled": "yes"}}, "error-tracking:backup.drill.enabled: must be true or false"),
    ({"enabled": False, "drill": {"enabled": True}}, "error-tracking:backup.drill.enabled: a restore drill needs backups"),
    ({"enabled": False, "offsite": OFFSITE}, "error-tracking:backup.offsite: needs backups"),
    ({"offsite": {**OFFSITE, "bucket": None}}, "error-tracking:backup.offsite.bucket: is required"),
    ({"offsite": {**OFFSITE, "bucket": "Bad_Bucket"}}, "error-tracking:backup.offsite.bucket: must be an S3 bucket"),
    ({"offsite": {**OFFSITE, "endpoint": None}}, "error-tracking:backup.offsite.endpoint: is required for provider Other"),
    ({"offsite": {**OFFSITE, "endpoint": "s3.example.com"}}, "error-tracking:backup.offsite.endpoint: must be an absolute URL"),
    ({"offsite": {**OFFSITE, "provider": "S3"}}, "error-tracking:backup.offsite.provider: must be one of AWS"),
    ({"offsite": {**OFFSITE, "prefix": "/abs/../x"}}, "error-tracking:backup.offsite.prefix: must be a path"),
    ({"offsite": {**OFFSITE, "secretAccessKey": None}}, "error-tracking:backup.offsite.secretAccessKey: is required"),
    ({"schedule": "daily"}, "error-tracking:backup.schedule: unknown setting"),
])
def test_bad_backup_settings_are_refused_by_name(data, message):
    _, problems = backup(data)
    assert any(p.startswith(message) for p in problems), problems


def test_aws_needs_no_endpoint():
    settings, problems = backup({"offsite": {**OFFSITE, "endpoint": None, "provider": "AWS", "region": "eu-west-1"}})
    assert problems == [] and settings.offsite.endpoint is None and settings.offsite.region == "eu-west-1"


def test_bad_keys_are_refused_without_showing_them():
    _, problems = backup({"offsite": {**OFFSITE, "secretAccessKey": "has a space", "accessKeyId": "with space"}})
    assert len(problems) == 2
    assert all("not shown" in p and "space" not in p.split(":", 2)[2].split(",")[-1] for p in problems)


def test_alert_defaults_have_no_target():
    settings, problems = alerts(None)
    assert problems == [] and not settings.any_target
    assert (settings.disk_free_percent, settings.backup_max_age_hours, settings.fail_after) == (10, 26, 3)
    assert settings.fail_window == 5  # three failures of the last five runs


def test_the_failure_window_follows_fail_after_unless_set():
    assert alerts({"failAfter": 1})[0].fail_window == 1
    assert alerts({"failAfter": 4})[0].fail_window == 7
    settings, problems = alerts({"failAfter": 2, "failWindow": 10, "email": {"to": "ops@example.com"}})
    assert problems == [] and (settings.fail_after, settings.fail_window) == (2, 10)


def test_alert_targets_are_read():
    settings, problems = alerts({"telegram": {"botToken": TOKEN, "chatId": -1001234567890},
                                 "webhook": {"url": "https://hooks.slack.com/services/T0/B0/XYZ"},
                                 "email": {"to": ["ops@example.com", "oncall@example.com"]}})
    assert problems == []
    assert settings.telegram.chat_id == "-1001234567890"
    assert settings.email_to == ("ops@example.com", "oncall@example.com")
    assert TOKEN not in repr(settings) and "XYZ" not in repr(settings)


@pytest.mark.parametrize("data, message", [
    ({"telegram": {"chatId": "1"}}, "error-tracking:alerts.telegram.botToken: is required"),
    ({"telegram": {"botToken": TOKEN}}, "error-tracking:alerts.telegram.chatId: is required"),
    ({"telegram": {"botToken": TOKEN, "chatId": "general"}}, "error-tracking:alerts.telegram.chatId: must be a numeric"),
    ({"webhook": {"url": "hooks.slack.com/x"}}, "error-tracking:alerts.webhook.url: must be an absolute URL"),
    ({"email": {"to": "ops"}}, "error-tracking:alerts.email.to: must be email addresses"),
    ({"email": {}}, "error-tracking:alerts.email.to: is required"),
    ({"backupMaxAgeHours": 24}, "error-tracking:alerts.backupMaxAgeHours: must be a whole number from 25 to 720"),
    ({"diskFreePercent": 0}, "error-tracking:alerts.diskFreePercent: must be a whole number from 1 to 90"),
    ({"failAfter": 0}, "error-tracking:alerts.failAfter: must be a whole number from 1 to 20"),
    ({"failWindow": 2}, "error-tracking:alerts.failWindow: must be a whole number from 3 to 60, got 2"),
    ({"failAfter": 5, "failWindow": 61}, "error-tracking:alerts.failWindow: must be a whole number from 5 to 60"),
    ({"failWindow": "often"}, "error-tracking:alerts.failWindow: must be a whole number"),
    ({"slack": {}}, "error-tracking:alerts.slack: unknown setting"),
    ({"telegram": {"botToken": TOKEN, "chatId": "1", "token": "x"}}, "error-tracking:alerts.telegram.token: unknown"),
])
def test_bad_alert_settings_are_refused_by_name(data, message):
    _, problems = alerts(data)
    assert any(p.startswith(message) for p in problems), problems


def test_a_bad_token_or_webhook_url_is_never_echoed():
    _, problems = alerts({"telegram": {"botToken": "12345:short", "chatId": 1},
                          "webhook": {"url": "ftp://secret-token@hooks.example.com"}})
    assert len(problems) == 2
    assert not any("short" in p or "secret-token" in p for p in problems)
