"""Fixtures more than one test file reads: deployed once per test process (pytest-xdist runs one
process per CPU, each test file in one of them)."""

from __future__ import annotations

import pytest

from tests.harness import Deployment
from tests.sentry_kubernetes_cases import deploy_variants


@pytest.fixture(scope="session")
def deployments(tmp_path_factory) -> dict[str, Deployment]:
    """Sentry on Kubernetes, by variant (tests/sentry_kubernetes_cases.py)."""
    return deploy_variants(tmp_path_factory.mktemp("manifests"))
