"""An application that reports to the error tracker, without copying its DSN anywhere.

docker:     the DSN comes from the tracker's `dsns` output through a StackReference and goes into
            the container's environment; it stays secret all the way (state, previews, logs).
kubernetes: the tracker already delivered the DSN as a Secret in this application's namespace
            (its `dsnTargets: [{project, kubernetesSecret: {namespace, name}}]`); the Deployment reads
            it with valueFrom.secretKeyRef, so the value never passes through this stack at all.
"""

import pulumi
import pulumi_docker as docker
import pulumi_kubernetes as k8s

config = pulumi.Config()
platform = config.get("platform") or "docker"
project = config.get("project") or "api"
image = config.require("image")

if platform == "docker":
    tracker = pulumi.StackReference(config.get("trackerStack") or "organization/error-tracking/dev")
    # A secret output read by reference is secret here too; picking one project keeps it so.
    dsn = tracker.require_output("dsns").apply(lambda dsns: dsns[project])
    docker.Container(
        "app",
        name="shop-api",
        image=image,
        envs=[pulumi.Output.format("SENTRY_DSN={0}", dsn)],
        memory=256,
        restart="unless-stopped",
    )
elif platform == "kubernetes":
    labels = {"app.kubernetes.io/name": "shop-api"}
    k8s.apps.v1.Deployment(
        "app",
        metadata={"name": "shop-api", "namespace": config.get("namespace") or "shop", "labels": labels},
        spec={
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {"runAsNonRoot": True},
                    "containers": [{
                        "name": "app",
                        "image": image,
                        "env": [{
                            "name": "SENTRY_DSN",
                            "valueFrom": {"secretKeyRef": {
                                "name": config.get("dsnSecret") or "sentry-dsn",
                                "key": config.get("dsnKey") or "SENTRY_DSN",
                            }},
                        }],
                        "resources": {"limits": {"memory": "256Mi"}, "requests": {"memory": "256Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False},
                    }],
                },
            },
        },
    )
else:
    raise pulumi.RunError(f"shop-api:platform: must be docker or kubernetes, got {platform!r}")
