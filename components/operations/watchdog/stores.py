"""Where the watchdog remembers what it decided and what it still owes each target.

One JSON document, {"version": 2, "saved_at", "checks", "outbox"}, kept twice: two files on the
watchdog's volume (Docker) or two keys of its ConfigMap (Kubernetes, kubernetes.py), so that one
damaged copy costs nothing. `load` returns {} when no copy exists (a fresh start) and raises
StateError only when the store cannot be read at all; `save` raises StateError when no copy could
be written. A document of the first version (checks only) still reads.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping, Optional

from . import outbox, state


class StateError(Exception):
    """The store cannot be read or written; the text is safe to log."""


def document(checks: Mapping[str, state.CheckState], pending: Iterable[outbox.Pending], now: float) -> dict:
    return {"version": 2, "saved_at": now, "checks": state.dump(checks), "outbox": outbox.dump(list(pending))}


def read(data: Any) -> tuple[dict[str, state.CheckState], list[outbox.Pending], Optional[float]]:
    """Checks, outbox and when it was saved (None: unknown) from a document of either version."""
    if not isinstance(data, Mapping):
        return {}, [], None
    if "version" not in data:
        return state.load(data), [], None
    try:
        saved_at: Optional[float] = float(data.get("saved_at"))
    except (TypeError, ValueError):
        saved_at = None
    checks = data.get("checks")
    return state.load(checks if isinstance(checks, Mapping) else {}), outbox.load(data.get("outbox")), saved_at


def newest(texts: Iterable[Optional[str]]) -> dict:
    """The newest of the copies that parse as a document; {} when none does."""
    documents = []
    for text in texts:
        try:
            data = json.loads(text) if text else None
        except ValueError:
            continue
        if isinstance(data, dict):
            documents.append(data)
    return max(documents, key=lambda d: read(d)[2] or 0.0, default={})


class FileState:
    """The document in `path` and `path`.copy, each replaced atomically (a reader never sees half)."""

    def __init__(self, path: str):
        self.paths = (path, f"{path}.copy")

    def load(self) -> dict:
        texts, errors = [], []
        for path in self.paths:
            try:
                with open(path, encoding="utf-8") as handle:
                    texts.append(handle.read())
            except FileNotFoundError:
                continue
            except (OSError, UnicodeError) as error:
                errors.append(f"{path}: {type(error).__name__}: {getattr(error, 'strerror', None) or error}")
        if errors and not texts:
            raise StateError("; ".join(errors))
        return newest(texts)

    def save(self, data: dict) -> None:
        text, errors = json.dumps(data, sort_keys=True), []
        for path in self.paths:
            temporary = f"{path}.tmp"
            try:
                with open(temporary, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, path)
            except OSError as error:
                errors.append(f"{path}: {getattr(error, 'strerror', None) or error}")
                try:
                    os.unlink(temporary)
                except OSError:
                    pass
        if len(errors) == len(self.paths):
            raise StateError("; ".join(errors))
