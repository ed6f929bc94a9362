"""The providers' stand-ins under Pulumi mocks: they echo inputs back as outputs and answer what a
real engine would report (a RandomPassword's result, an image ID, a Docker task's exit code and
logs, a Kubernetes bootstrap report read back from its Secret, a claim's size, the last deployment's
outputs). Nothing here decides what the program declares.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import pathlib
import uuid
from typing import Callable, Optional

import pulumi

from components.spec import REPORT_PREFIX
from tests.secret_values import unwrap


def fake_glitchtip_report(env: dict[str, str], url: str) -> str:
    """What bootstrap_script.py prints in GlitchTip: a DSN per project it was asked for."""
    projects = json.loads(env["BOOTSTRAP_PROJECTS"])
    scheme, rest = url.split("://", 1)
    report = {
        p["name"]: {
            "id": index + 1,
            "slug": p["name"],
            "dsn": f"{scheme}://{uuid.uuid5(uuid.NAMESPACE_URL, p['name']).hex}@{rest.rstrip('/')}/{index + 1}",
        }
        for index, p in enumerate(projects)
    }
    return "Run bootstrap\n" + REPORT_PREFIX + json.dumps({"organization": "acme", "projects": report}) + "\n"


def built_image_id(inputs: dict) -> str:
    """A local build's image ID as the Docker provider reports it (`repoDigest` of an image that is
    not pushed): it follows what the build reads, the build context's files (relative to the
    project root, where Pulumi runs the program, or absolute) and the build's own arguments, not
    where the context lies."""
    build = inputs["build"]
    context = pathlib.Path(build["context"])
    what = {k: v for k, v in build.items() if k not in ("context", "dockerfile")}
    what["dockerfile"] = pathlib.PurePosixPath(build["dockerfile"]).relative_to(context.as_posix()).as_posix()
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode())
    for path in sorted(context.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(context).as_posix().encode() + b"\0" + path.read_bytes())
    return f"sha256:{digest.hexdigest()}"


class Mocks(pulumi.runtime.Mocks):
    """Provider stand-ins: echo inputs, and report what the real providers would compute."""

    def __init__(self, url: str = "", failing_task: Optional[str] = None, preview: bool = False,
                 report: Optional[Callable[["Mocks"], str]] = None, previous: Optional[dict] = None,
                 claims: Optional[dict] = None):
        self.url = url
        # The outputs of this stack's last deployment, as a StackReference to itself reads them.
        self.previous = previous or {}
        # What a read of a PersistentVolumeClaim finds: its requested storage, by claim name.
        self.claims = claims or {}
        self.preview = preview
        self.failing_task = failing_task
        self.report = report or (lambda mocks: mocks.bootstrap_report())
        self.seen: list[tuple[str, str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.seen.append((args.typ, args.name, copy.deepcopy(args.inputs)))
        inputs = unwrap(args.inputs)
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            alphabet = "0123456789abcdef" if inputs.get("overrideSpecial") == "abcdef" else "aB3"
            length = int(inputs["length"])
            outputs["result"] = (alphabet * length)[:length]
        if args.typ == "pulumi:pulumi:StackReference":
            outputs = {"name": inputs.get("name"), "outputs": self.previous, "secretOutputNames": []}
        if args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = f"sha256:{uuid.uuid5(uuid.NAMESPACE_URL, inputs['name']).hex}"
        if args.typ == "docker:index/image:Image" and not self.preview:
            outputs["repoDigest"] = built_image_id(inputs)
        # In a preview nothing runs: what a container reports when it exits stays unknown.
        if args.typ == "docker:index/container:Container" and inputs.get("attach") and not self.preview:
            task = inputs["name"].rsplit("-", 1)[-1]
            outputs["exitCode"] = 1 if task == self.failing_task else 0
            if inputs.get("logs"):
                env = dict(item.split("=", 1) for item in inputs["envs"])
                outputs["containerLogs"] = fake_glitchtip_report(env, self.url)
        if args.typ == "kubernetes:core/v1:PersistentVolumeClaim" and args.custom is None and args.resource_id:
            claim = args.resource_id.rpartition("/")[2]
            outputs["spec"] = {"resources": {"requests": {"storage": self.claims[claim]}}}
        # A read of the Secret the Kubernetes bootstrap Job writes its report into.
        if args.typ == "kubernetes:core/v1:Secret" and args.custom is None and args.resource_id \
                and not self.preview:
            outputs["data"] = {"report": base64.b64encode(self.report(self).encode()).decode()}
        return f"{args.name}-id", outputs

    def bootstrap_report(self) -> str:
        """The report line from the bootstrap Job's own environment (its ConfigMap and Secret)."""
        env: dict[str, str] = {}
        for typ, _, inputs in self.seen:
            plain = unwrap(inputs)
            if typ == "kubernetes:core/v1:ConfigMap" and "bootstrap" in plain.get("metadata", {}).get("name", ""):
                env.update(plain.get("data") or {})
            if typ == "kubernetes:core/v1:Secret" and plain.get("metadata", {}).get("name") == "bootstrap-env":
                env.update(plain.get("stringData") or {})
        if "BOOTSTRAP_PROJECTS" not in env:
            raise AssertionError("no bootstrap environment was declared before the report was read")
        return fake_glitchtip_report(env, self.url).splitlines()[-1]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}
