"""Derive a hashed lock for the program's (or the policy pack's) own virtualenv from
requirements-dev.lock: the same versions and hashes the tests ran with, only the packages that the
requirements file needs (its dependency closure, read from the lock's own `# via` notes).

    python3 scripts/runtime_lock.py requirements.txt > requirements.lock
    python3 scripts/runtime_lock.py policy/requirements.txt > policy/requirements.lock

CI installs these with `pip install --require-hashes` into the `venv` that Pulumi.yaml names, which
Pulumi then uses as it is (it installs requirements.txt only into a virtualenv it has to create).
tests/test_lock.py fails when a derived lock is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DEV_LOCK = ROOT / "requirements-dev.lock"
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==\S+")


def blocks(lock_text: str) -> dict[str, tuple[str, set[str]]]:
    """Package -> (its block of the lock: the pin and hash lines, no notes; who needs it)."""
    found: dict[str, tuple[str, set[str]]] = {}
    name = None
    for line in lock_text.splitlines():
        match = _PIN.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            found[name] = (line, set())
        elif name and line.strip().startswith("--hash="):
            pin, via = found[name]
            found[name] = (f"{pin}\n{line}", via)
        elif name and line.strip().startswith("#"):
            note = line.strip().lstrip("#").strip()
            note = note[len("via"):].strip() if note.startswith("via") else note
            if note:
                found[name][1].add(note if note.startswith("-r ") else canonicalize_name(note))
    return found


def roots(requirements: Path) -> set[str]:
    names = set()
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(canonicalize_name(Requirement(line).name))
    return names


def derive(requirements: Path, lock_text: str) -> str:
    """The blocks of `lock_text` that `requirements` needs, in the lock's order, hashes kept."""
    found = blocks(lock_text)
    missing = roots(requirements) - set(found)
    if missing:
        raise SystemExit(f"not in {DEV_LOCK.name}: {', '.join(sorted(missing))} (regenerate it first)")
    needed = set(roots(requirements))
    grew = True
    while grew:
        grew = False
        for name, (_, via) in found.items():
            if name not in needed and via & needed:
                needed.add(name)
                grew = True
    header = (f"# The closure of {requirements.relative_to(ROOT)} at the versions and hashes of {DEV_LOCK.name}\n"
              f"# (what the tests ran). Derived, never edited: python3 scripts/runtime_lock.py "
              f"{requirements.relative_to(ROOT)}\n")
    return header + "".join(f"{block}\n" for name, (block, _) in found.items() if name in needed)


if __name__ == "__main__":
    sys.stdout.write(derive(Path(sys.argv[1]).resolve(), DEV_LOCK.read_text()))
