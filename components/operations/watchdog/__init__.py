"""A small watchdog that alerts once when a check starts failing and once when it recovers.

Standard library only: it runs unchanged in the official python image, mounted as files (see
components.operations.describe). `python -m watchdog` with this directory's parent on PYTHONPATH.
Modes: `docker` reads shared volumes and HTTP (no Docker socket); `kubernetes` asks the API server
with the pod's read-only ServiceAccount. The decision logic is pure (state.py) and tested as code.
"""
