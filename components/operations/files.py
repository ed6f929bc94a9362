"""The operations' scripts and the watchdog's modules as the app's ConfigFiles, and where they mount.

Mounting files keeps them readable in the repository, testable as they are, and out of command
lines (`sh -c` with a long script is unreadable in `docker inspect` and Job specs). Platforms
mount each ConfigFile read-only at its path; `sh /ops/x.sh` needs no execute bit.
"""

from __future__ import annotations

from importlib import resources as package_files

from components.spec import ConfigFile, FileMount

OPS_DIR = "/ops"
# PYTHONPATH of the watchdog's container; the package is mounted at WATCHDOG_PATH/watchdog/.
WATCHDOG_PATH = "/opt/watchdog"
WATCHDOG_MODULES = ("__init__.py", "__main__.py", "checks.py", "config.py", "kubernetes.py", "outbox.py", "passes.py",
                    "senders.py", "state.py", "stores.py")


def script_text(name: str) -> str:
    return package_files.files("components.operations").joinpath("scripts").joinpath(name).read_text()


def _file_name(prefix: str, name: str) -> str:
    """A DNS-label ConfigFile name: `pre_upgrade.sh` -> `ops-pre-upgrade-sh`."""
    stem, extension = name.rsplit(".", 1)
    return f"{prefix}-{stem.strip('_').replace('_', '-')}-{extension}"


def script_file(name: str) -> ConfigFile:
    return ConfigFile(_file_name("ops", name), script_text(name))


def script_mounts(*names: str) -> tuple[FileMount, ...]:
    return tuple(FileMount(_file_name("ops", n), f"{OPS_DIR}/{n}") for n in names)


def checks_file(content: str) -> ConfigFile:
    """The app's sanity checks (for restore.sh), mounted at /ops/checks.sql."""
    return ConfigFile("ops-checks-sql", content)


CHECKS_MOUNT = FileMount("ops-checks-sql", f"{OPS_DIR}/checks.sql")


def watchdog_files() -> tuple[ConfigFile, ...]:
    package = package_files.files("components.operations").joinpath("watchdog")
    return tuple(ConfigFile(_file_name("watchdog", m), package.joinpath(m).read_text()) for m in WATCHDOG_MODULES)


def watchdog_mounts() -> tuple[FileMount, ...]:
    return tuple(FileMount(_file_name("watchdog", m), f"{WATCHDOG_PATH}/watchdog/{m}") for m in WATCHDOG_MODULES)
