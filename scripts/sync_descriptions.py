"""Writes what components/arguments/ says of each setting wherever it is repeated.

One meaning per setting, written once (components/arguments/, read by Pulumi's schema analyzer),
copied here into: the package's schema snapshot (package/schema.json), the meaning column of the
README's configuration tables, and the `description` of each key in Pulumi.yaml's config block.
Run it after changing a meaning, an argument or the package: `python3 scripts/sync_descriptions.py`
(`--check` only reports what differs; tests/test_package_schema.py fails until it is run).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMA = ROOT / "package" / "schema.json"
README = ROOT / "README.md"
PROJECT = ROOT / "Pulumi.yaml"
# The README's configuration tables, by the heading each one follows, and the section they describe.
TABLES = {"## Configuration (`error-tracking:<key>`)": "", "### `glitchtip`": "glitchtip", "### `sentry`": "sentry",
          "### `docker`": "docker", "### `kubernetes`": "kubernetes"}
ROW = re.compile(r"^\| `(?P<key>[^`]+)` \|(?P<default>.*?)\|(?P<meaning>.*)\|$")


def schema() -> dict[str, Any]:
    from components.package import Provider

    return json.loads(Provider().schema)


def schema_text(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def describe(spec: dict[str, Any], section: str, key: str) -> str:
    """The description of `key` (`ingress.className`, `replicas.<web|worker>`) in `section`."""
    properties = spec["resources"]["error-tracking:index:ErrorTracking"]["inputProperties"]
    parts = [section] if section else []
    parts += re.sub(r"\.<[^>]*>$", "", key).split(".")
    prop: dict[str, Any] = {}
    for part in parts:
        if part not in properties:
            raise KeyError(f"{section or '(top)'}.{key}: no argument {part!r} in components/arguments/")
        prop = properties[part]
        ref = prop.get("$ref") or (prop.get("additionalProperties") or {}).get("$ref") or ""
        if ref.startswith("#/types/"):
            properties = spec["types"][ref[len("#/types/"):]]["properties"]
    return prop["description"]


def readme_rows(text: str) -> Iterator[tuple[int, str, str, str, str]]:
    """(line index, section, key, default cell, meaning cell) of every configuration table row: the
    first `| key | default | meaning |` table after each heading of TABLES."""
    section, inside = None, False
    for index, line in enumerate(text.split("\n")):
        if line in TABLES:
            section, inside = TABLES[line], False
        elif section is not None and line.startswith("| key | default | meaning |"):
            inside = True
        elif inside and line.startswith("| `"):
            match = ROW.match(line)
            if not match:
                raise ValueError(f"README line {index + 1}: one key per row: {line}")
            yield index, section, match["key"].replace("\\|", "|"), match["default"], match["meaning"].strip()
        elif inside and not line.startswith("|"):
            section, inside = None, False


def synced_readme(text: str, spec: dict[str, Any]) -> str:
    lines = text.split("\n")
    for index, section, key, default, _ in list(readme_rows(text)):
        cell = key.replace("|", "\\|")
        lines[index] = f"| `{cell}` |{default}| {describe(spec, section, key)} |"
    return "\n".join(lines)


def synced_project(text: str, spec: dict[str, Any]) -> str:
    """Pulumi.yaml with each top-level config key's description, in its `config:` block only."""
    lines, key, inside = text.split("\n"), None, False
    for index, line in enumerate(lines):
        if line == "config:":
            inside = True
        elif inside and line and not line.startswith((" ", "#")):
            inside = False
        elif inside and re.match(r"^  [A-Za-z]+:$", line):
            key = line.strip()[:-1]
        elif inside and key and line.startswith("    description: "):
            lines[index] = "    description: " + json.dumps(describe(spec, "", key), ensure_ascii=False)
    return "\n".join(lines)


def main(check: bool) -> int:
    spec = schema()
    wanted = {SCHEMA: schema_text(spec), README: synced_readme(README.read_text(), spec),
              PROJECT: synced_project(PROJECT.read_text(), spec)}
    stale = [path for path, text in wanted.items() if not path.is_file() or path.read_text() != text]
    for path in stale:
        print(f"{'differs' if check else 'written'}: {path.relative_to(ROOT)}")
        if not check:
            path.write_text(wanted[path])
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
