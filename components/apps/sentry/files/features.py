"""The feature flags self-hosted 26.8.0 turns on (sentry/sentry.conf.example.py), as data.

Sentry's defaults leave most product features off; upstream enables the ones that are generally
available on sentry.io. The errors-only profile keeps the same flags: Sentry itself hides what
needs the feature-complete services when SENTRY_SELF_HOSTED_ERRORS_ONLY is true.
"""

ENABLED_FEATURES: dict[str, tuple[str, ...]] = {
    "organization": (
        "organizations:discover",
        "organizations:global-views",
        "organizations:issue-views",
        "organizations:incidents",
        "organizations:integrations-issue-basic",
        "organizations:integrations-issue-sync",
        "organizations:invite-members",
        "organizations:sso-basic",
        "organizations:sso-saml2",
        "organizations:advanced-search",
        "organizations:issue-platform",
        "organizations:monitors",
        "organizations:dashboards-mep",
        "organizations:mep-rollout-flag",
        "organizations:dashboards-rh-widget",
        "organizations:dynamic-sampling",
        "organizations:workflow-engine-ui",
        "organizations:workflow-engine-rule-serializers",
    ),
    "project": (
        "projects:custom-inbound-filters",
        "projects:data-forwarding",
        "projects:discard-groups",
        "projects:plugins",
        "projects:rate-limits",
        "projects:servicehooks",
    ),
    "tracing": (
        "organizations:performance-view",
        "organizations:span-stats",
        "organizations:visibility-explore-view",
        "organizations:visibility-explore-range-high",
        "organizations:transaction-metrics-extraction",
        "organizations:indexed-spans-extraction",
        "organizations:insights-entry-points",
        "organizations:insights-initial-modules",
        "organizations:insights-addon-modules",
        "organizations:insights-modules-use-eap",
        "organizations:starfish-mobile-appstart",
        "organizations:on-demand-metrics-extraction",
        "projects:span-metrics-extraction",
        "projects:span-metrics-extraction-addons",
    ),
    "replay_feedback_profiling": (
        "organizations:session-replay",
        "organizations:user-feedback-ui",
        "organizations:profiling",
        "organizations:profiling-view",
        "organizations:continuous-profiling",
        "organizations:continuous-profiling-stats",
    ),
    "uptime_logs_metrics": (
        "organizations:uptime",
        "organizations:uptime-create-issues",
        "organizations:ourlogs-enabled",
        "organizations:ourlogs-ingestion",
        "organizations:ourlogs-stats",
        "organizations:ourlogs-replay-ui",
        "organizations:tracemetrics-enabled",
        "organizations:tracemetrics-alerts",
        "organizations:tracemetrics-ingestion",
        "organizations:tracemetrics-equations-in-alerts",
        "organizations:tracemetrics-equations-in-explore",
        "organizations:tracemetrics-multi-metric-selection-in-dashboards",
        "organizations:tracemetrics-units-ui",
        "organizations:tracemetrics-stats-bytes-ui",
        "organizations:tracemetrics-pii-scrubbing-ui",
    ),
    "transaction_migration": (
        "organizations:discover-saved-queries-deprecation",
        "organizations:expose-migrated-discover-queries",
        "organizations:performance-transaction-deprecation-banner",
    ),
}

# Upstream turns sample events off (they would count as real events).
DISABLED_FEATURES = ("projects:sample-events",)


def enabled_features() -> tuple[str, ...]:
    return tuple(name for group in ENABLED_FEATURES.values() for name in group)
