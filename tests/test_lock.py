"""CI installs exactly what requirements-dev.lock pins, with hashes; the lock must still satisfy
the ranges that requirements*.txt state for operators (regenerate it with uv pip compile when not)."""

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def ranges() -> list[Requirement]:
    found = []
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-r"):
                found.append(Requirement(line))
    return found


def locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", (ROOT / "requirements-dev.lock").read_text(), re.M)
    return {canonicalize_name(name): version for name, version in pins}


def test_every_requirement_is_locked_within_its_range_and_hashed():
    pins = locked()
    for requirement in ranges():
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in requirements-dev.lock"
        assert requirement.specifier.contains(version, prereleases=True), f"{requirement} but locked {version}"
    text = (ROOT / "requirements-dev.lock").read_text()
    hashed = re.findall(r"^[A-Za-z0-9_.-]+==[^\s\\]+ \\\n\s+--hash=sha256:[0-9a-f]{64}", text, re.M)
    assert len(hashed) == len(pins)  # every pin carries its hashes (pip --require-hashes)


def test_ci_installs_the_lock_with_hashes_and_runs_the_tests():
    script = (ROOT / ".ci" / "run").read_text()
    assert "--require-hashes -r requirements-dev.lock" in script
    assert "python -m pytest" in script


def test_ci_checks_the_import_layers_before_the_tests():
    script = (ROOT / ".ci" / "run").read_text()
    assert (ROOT / ".importlinter").is_file()
    assert script.index("lint-imports") < script.index("python -m pytest")


def test_checkov_is_locked_with_hashes_in_its_own_venv_and_runs_offline_in_ci():
    lock = (ROOT / "requirements-checkov.lock").read_text()
    (version,) = re.findall(r"^checkov==([^\s\\]+) \\\n\s+--hash=sha256:[0-9a-f]{64}", lock, re.M)
    (wanted,) = [Requirement(line.split("#", 1)[0].strip()) for line in
                 (ROOT / "requirements-checkov.txt").read_text().splitlines() if line.startswith("checkov")]
    assert wanted.specifier.contains(version)
    pins = re.findall(r"^[A-Za-z0-9_.-]+==", lock, re.M)
    assert len(re.findall(r"^[A-Za-z0-9_.-]+==[^\s\\]+ \\\n\s+--hash=sha256:", lock, re.M)) == len(pins)
    script = (ROOT / ".ci" / "run").read_text()
    assert "--require-hashes -r requirements-checkov.lock" in script
    assert "python -m tests.render_manifests .ci-manifests" in script
    assert ".ci-checkov-venv/bin/checkov --config-file .checkov.yaml --directory .ci-manifests" in script
    config = (ROOT / ".checkov.yaml").read_text()
    assert "skip-download: true" in config  # nothing fetched from Bridgecrew: CI has no network
    # every skipped check carries its reason on the comment lines just above it
    lines = config.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("- CKV"):
            above = [l for l in lines[:index] if l.strip()][-1].strip()
            assert above.startswith("#") or above.startswith("- CKV"), line


def test_the_program_and_policy_pack_locks_are_derived_from_the_tested_lock_and_fresh():
    """requirements.lock and policy/requirements.lock (what CI's previews and deploys install) hold
    the closure of their requirements file at exactly the versions and hashes the tests ran."""
    from scripts.runtime_lock import derive

    dev = (ROOT / "requirements-dev.lock").read_text()
    for requirements, lock in (("requirements.txt", "requirements.lock"),
                               ("policy/requirements.txt", "policy/requirements.lock")):
        assert (ROOT / lock).read_text() == derive(ROOT / requirements, dev), \
            f"{lock} is stale: python3 scripts/runtime_lock.py {requirements} > {lock}"


def test_each_derived_lock_holds_every_dependency_of_what_it_pins():
    """pip --require-hashes installs nothing unpinned: each pinned package's own requirements (as
    its installed metadata states them, markers evaluated here) must be pinned too."""
    from importlib import metadata

    from packaging.requirements import Requirement

    for lock in ("requirements.lock", "policy/requirements.lock"):
        text = (ROOT / lock).read_text()
        pins = {canonicalize_name(n): v for n, v in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", text, re.M)}
        assert pins and all(v == locked()[n] for n, v in pins.items()), lock
        for name in pins:
            for spec in metadata.requires(name) or []:
                requirement = Requirement(spec)
                if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                    continue
                assert canonicalize_name(requirement.name) in pins, f"{lock}: {name} needs {requirement.name}"
