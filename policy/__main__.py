"""Entry point the Pulumi engine runs for `--policy-pack policy`: serves the pack (blocks)."""

from pulumi_policy import EnforcementLevel, PolicyPack

from error_tracking_policy import POLICIES

PolicyPack(
    name="error-tracking",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
