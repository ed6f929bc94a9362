"""Upgrade hard stops are refused at preview, naming the path through every stop."""

import pytest

from components.apps.sentry.versions import HARD_STOPS, upgrade_problem


def test_first_install_and_plain_upgrades_pass():
    assert upgrade_problem(None, "26.8.0") is None
    assert upgrade_problem("25.5.1", "26.8.0") is None
    assert upgrade_problem("26.8.0", "26.8.0") is None
    assert upgrade_problem("24.8.0", "25.5.1") is None  # landing on a stop is fine


def test_skipping_one_stop_names_it_and_the_path():
    message = upgrade_problem("24.1.0", "26.8.0")
    assert "error-tracking:sentry.version" in message
    assert "24.1.0 -> 24.8.0 -> 25.5.1 -> 26.8.0" in message


def test_skipping_every_stop_lists_them_in_order():
    message = upgrade_problem("9.0.0", "26.8.0")
    assert " -> ".join(["9.0.0", *HARD_STOPS, "26.8.0"]) in message


def test_calver_compares_numerically_not_as_text():
    # "23.11.0" sorts before "23.6.2" as text; numerically 23.6.2 -> 23.11.0 crosses no other stop.
    assert upgrade_problem("23.6.2", "23.11.0") is None
    assert "23.11.0" in upgrade_problem("23.6.2", "24.1.0")


def test_a_downgrade_is_refused():
    assert "older than the deployed" in upgrade_problem("26.8.0", "26.7.0")


@pytest.mark.parametrize("version", ["latest", "26.8", "v26.8.0", ""])
def test_a_version_that_is_not_a_release_is_refused_by_name(version):
    with pytest.raises(ValueError, match="error-tracking:sentry.version"):
        upgrade_problem("26.7.0", version)
