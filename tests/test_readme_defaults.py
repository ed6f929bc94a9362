"""Every default the README's configuration tables state is what the program parses from a section
left empty: the tables are read here row by row, each key found on the parsed settings by its own
name (`taskTimeoutSeconds` -> task_timeout_seconds, `ingress.maxBodyMb` -> ingress.max_body_mb), so a
changed default, or a new row whose default the program does not have, fails here.

Defaults the README states as a rule rather than a value ("required", "see Sizing", "app name"...)
are checked by a rule of their own below; an unknown one fails, asking for one.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from components import apps, configuration
from components.platforms.kubernetes.settings import PRIVATE_NETWORKS
from components.validation import ConfigError
from tests.harness import BASE_CONFIG

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DECLARED = PROJECT["config"]
DECLARED_TEMPLATE = PROJECT["template"]["config"]
# What the README writes for "nothing unless you set it" and "no restriction".
UNSET = {"—", "none", "ambient", "cluster default", "any", "anywhere", "anywhere but link-local", "per volume"}
# Only what is required, and sections as read with nothing set in them, for the app and platform
# each table is about.
REQUIRED = {k: BASE_CONFIG[k] for k in ("url", "adminEmail", "projects")}
STACKS = {
    "": dict(REQUIRED),
    "glitchtip": {**REQUIRED, "app": "glitchtip"},
    "sentry": {**REQUIRED, "app": "sentry"},
    "docker": {**REQUIRED, "platform": "docker"},
    "kubernetes": {**REQUIRED, "platform": "kubernetes"},
}


def table(heading: str) -> list[tuple[list[str], str, str]]:
    """(keys, default cell, meaning cell) of the first table after `heading`."""
    text = README.split(heading, 1)[1]
    rows = []
    for line in text.split("| key | default | meaning |", 1)[1].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        keys = re.findall(r"`([^`]+)`", cells[0].replace("\\|", "|"))
        rows.append((keys, cells[1], cells[2]))
    return rows


def sections() -> list[tuple[str, list[str], str, str]]:
    found = [("", *row) for row in table("## Configuration (`error-tracking:<key>`)")]
    for name in ("glitchtip", "sentry", "docker", "kubernetes"):
        found += [(name, *row) for row in table(f"### `{name}`")]
    return found


def snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def parsed(section: str) -> tuple[Any, Any]:
    """(the stack's settings, the section's own settings) with nothing set in the section."""
    settings = configuration.load(STACKS[section])
    if section in ("glitchtip", "sentry"):
        return settings, settings.app_settings
    if section in ("docker", "kubernetes"):
        return settings, settings.platform_settings
    return settings, settings


def attribute(settings: Any, key: str) -> Any:
    value = settings
    for part in key.split("."):
        value = getattr(value, snake(part))
    return value


def plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def literals(cell: str) -> list[Any]:
    """The backticked values of a cell, as YAML reads them (a text that is no YAML value stays text)."""
    found = []
    for text in re.findall(r"`([^`]+)`", cell):
        try:
            found.append(yaml.safe_load(text))
        except yaml.YAMLError:
            found.append(text)
    return found


def matches(found: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and expected and all(str(k).startswith("<") for k in expected):
        return True  # a shape (`{<service>: n}`), not a default
    if expected == "—":  # "not set" inside a section's defaults
        return found is None
    if dataclasses.is_dataclass(found) and isinstance(expected, dict):
        return all(matches(getattr(found, snake(k)), v) for k, v in expected.items() if not str(k).startswith("<"))
    return plain(found) == expected


def required(section: str, key: str) -> None:
    values = {k: v for k, v in STACKS[section].items() if k != key}
    with pytest.raises(ConfigError) as refused:
        configuration.load(values)
    assert f"error-tracking:{key}: is required" in "\n".join(refused.value.problems)


def sizing(section: str, key: str) -> bool:
    """GlitchTip's resources: the Sizing section's figures for the 2 GB host."""
    figures = re.search(r"\*\*GlitchTip, the 2 GB host\*\* \(defaults, MB\): ([^:]+?), backup", README).group(1)
    stated = {name.lower(): int(mb) for name, mb in re.findall(r"(\w+) (\d+)", figures)}
    resources = parsed(section)[1].resources
    return {name: resources[name].memory_mb for name in stated} == stated


def from_address(section: str, key: str) -> bool:
    """`glitchtip@<url host>`: what GlitchTip is given when fromEmail is left out."""
    settings, app = parsed(section)
    spec = apps.get("glitchtip").describe(settings)
    return app.from_email is None and spec.service("web").env["DEFAULT_FROM_EMAIL"] == f"glitchtip@{settings.host}"


def bundled_relay(section: str, key: str) -> bool:
    sentry = parsed(section)[1]
    return sentry.mail is None and "smtp" in sentry.deployed_services


# Rules for defaults the README states in words, by (section, key): each says whether it holds.
RULES: dict[tuple[str, str], Callable[[str, str], bool]] = {
    ("", "backup"): lambda s, k: parsed(s)[0].backup.enabled is True,  # "on"
    ("", "alerts"): lambda s, k: parsed(s)[0].alerts.any_target is False,  # "none": no watchdog
    ("glitchtip", "resources.<container>"): sizing,  # "see Sizing"
    ("glitchtip", "fromEmail"): from_address,
    ("sentry", "mail"): bundled_relay,
    ("sentry", "resources.<service>"): lambda s, k: set(parsed(s)[1].resources) == set(parsed(s)[1].deployed_services),
    ("sentry", "external"): lambda s, k: parsed(s)[1].external.present == (),
    ("sentry", "internalNetworks"): lambda s, k: parsed(s)[1].internal_networks == (),  # "container's own"
    ("docker", "namePrefix"): lambda s, k: parsed(s)[1].name_prefix is None,  # "app name"
    ("kubernetes", "ingress.controllerNamespace"): lambda s, k: parsed(s)[1].ingress.controller_namespace is None
    and edge_required(s),
    ("kubernetes", "clusterNetworks"): lambda s, k: parsed(s)[1].cluster_networks == PRIVATE_NETWORKS,
}


def edge_required(section: str) -> bool:
    """`required, or sourceCidrs`: refused before any resource when neither is set."""
    from components.stack import preflight

    with pytest.raises(ConfigError) as refused:
        preflight(configuration.load({**STACKS[section], "app": "sentry",
                                      "sentry": {"internalNetworks": ["10.1.0.0/16"]}}))
    return any(p.startswith("error-tracking:kubernetes.ingress.controllerNamespace: is required (or "
                            "ingress.sourceCidrs)") for p in refused.value.problems)
# Keys standing for several (`replicas.<web|worker>`): the members the program has.
MEMBERS = {"replicas.<web|worker>": "replicas", "maxReplicas.<web|worker>": "max_replicas",
           "autoscaling.<service>": "autoscaling", "egress.<name>": "egress"}


def rows():
    for section, keys, default, meaning in sections():
        if default in ("required",):
            for key in keys:
                yield pytest.param(section, key, default, meaning, id=f"{section or 'top'}-{key}")
            continue
        for index, key in enumerate(keys):
            cell = default
            if default and " / " in default and len(keys) > 1:  # `a` / `b` for keys `x` / `y`
                cell = default.split(" / ")[index]
            yield pytest.param(section, key, cell, meaning, id=f"{section or 'top'}-{key}")


@pytest.mark.parametrize("section, key, default, meaning", list(rows()))
def test_the_readme_default_is_what_the_program_parses(section, key, default, meaning):
    if default == "required":
        required(section, key)
        return
    if (section, key) in RULES:
        assert RULES[section, key](section, key), f"{section}.{key}: the program's default is not {default!r}"
        return
    if not section and key in DECLARED and DECLARED[key].get("type") == "object" and default == "`{}`":
        # A whole section's default: the one Pulumi.yaml declares (the engine merges it in).
        assert DECLARED[key]["default"] == {}
        return
    settings = parsed(section)[1]
    if key in MEMBERS:
        found = getattr(settings, MEMBERS[key])
        if default in UNSET:
            assert not found, f"{key}: README says {default}"
        else:
            assert found and all(v == literals(default)[0] for v in found.values()), f"{key}: {found}"
        return
    # An empty default cell: the meaning opens with the defaults of the keys inside (`{a: 1, b: 2}`).
    stated = literals(default) if default else literals(meaning)[:1]
    try:
        found = attribute(settings, key)
    except AttributeError:
        # A section the program keeps flat (`workers: {taskworkerConcurrency...}`): its keys are
        # the section settings' own.
        assert stated and isinstance(stated[0], dict), f"{section}.{key}: no such setting in the program"
        found = settings
    if default in UNSET:
        assert found in (None, "", (), [], {}), f"{section}.{key}: README says {default}, the program has {found!r}"
        return
    assert stated, (f"{section}.{key}: the README states its default as {default!r}: give it a value in backticks "
                    "or a rule in RULES")
    assert any(matches(found, value) for value in stated), \
        f"{section}.{key}: README says {default or meaning!r}, the program parses {found!r}"


def test_the_tables_are_read_and_every_section_has_rows():
    counted = {}
    for section, keys, _, _ in sections():
        counted[section] = counted.get(section, 0) + len(keys)
    assert set(counted) == {"", "glitchtip", "sentry", "docker", "kubernetes"} and min(counted.values()) >= 6


def test_the_backup_and_alert_defaults_in_their_sections_are_the_programs():
    backup_line = re.search(r"^`backup: (\{.*?\})`", README, re.M).group(1)
    stated = yaml.safe_load(backup_line)
    backup = parsed("")[0].backup
    assert stated["enabled"] == backup.enabled and stated["retentionDays"] == backup.retention_days
    assert (stated["hour"], stated["minute"]) == (backup.schedule.hour, backup.schedule.minute)
    assert stated["drill"]["dayOfMonth"] == backup.drill.schedule.day_of_month
    alerts = parsed("")[0].alerts
    for key, value in re.findall(r"`(diskFreePercent|backupMaxAgeHours|failAfter): (\d+)`", README):
        assert getattr(alerts, snake(key)) == int(value), key


def test_the_readme_opens_the_url_the_dev_stack_sets():
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    opened = re.search(r"Open (http://\S+) ", README).group(1)
    assert opened == dev["error-tracking:url"] == DECLARED_TEMPLATE["url"]["default"]
    # The port is published on the loopback address itself: `localhost` may resolve to ::1 first.
    docker = dev["error-tracking:docker"]
    assert opened == f"http://{docker['bindAddress']}:{docker['port']}"
