"""Writes the Kubernetes manifests of the default and example stacks to a directory, for checkov
(.ci/run): each stack deployed under the mocks (tests.harness), each object its declared inputs
as the API server would receive them. Secrets carry the mocks' placeholder values, never real ones.

    python -m tests.render_manifests <directory>
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tests.harness import deploy
from tests.test_scheduling import STACKS, configuration


def render(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(STACKS):
        values, secret_keys = configuration(name)
        if values.get("platform") != "kubernetes":
            continue
        deployment = deploy(values, secret_keys=secret_keys)
        path = directory / f"{Path(name).stem}.yaml"
        path.write_text(yaml.safe_dump_all([d.manifest() for d in deployment.k8s()], sort_keys=False))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in render(Path(sys.argv[1])):
        print(path)
