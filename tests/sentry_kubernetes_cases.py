"""Self-hosted Sentry on `platform: kubernetes`, the variants the Sentry-on-Kubernetes tests share
(tests/conftest.py deploys each once per test process):

- "errors-only": every store bundled, an Ingress with cert-manager TLS, scenario 4's DSN Secret;
- "preview": the same under `pulumi preview`;
- "feature-complete": all 57 services with every store outside the cluster (sentry.external.*),
  a Gateway API route instead of the Ingress, autoscalers and extra replicas, and manifests
  rendered to a directory (kubernetes.renderYamlTo) instead of applied: what it declares is the
  same either way, and one deployment fewer keeps the suite fast.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import Deployment, deploy

HOST = "sentry.example.com"
MAIL_PASSWORD = "MailPw-4242"
EXTERNAL_PASSWORDS = ("PgPw-1111", "RedisPw-2222", "KafkaPw-3333", "ChPw-4444", "S3Secret-5555")
# What the mocks' RandomPassword answers: every hex secret starts with this, the admin password is "aB3"...
GENERATED = ("0123456789abcdef0123", "aB3aB3aB3aB3")
POD_CIDR = "10.1.0.0/16"
INSTALL_ORDER = ("create-kafka-topics", "snuba-bootstrap", "sentry-upgrade", "create-admin", "bootstrap")
STORES = {"postgres", "redis", "kafka", "clickhouse", "seaweedfs"}

BASE = {
    "app": "sentry",
    "platform": "kubernetes",
    "url": f"https://{HOST}",
    "organization": "Example",
    "projects": [{"name": "backend", "platform": "dotnet"}, {"name": "frontend", "platform": "javascript-angular"}],
    # Scenario 4: the backend reads its DSN from Secret sentry-credentials, key dsn, in its namespace.
    "dsnTargets": [{"project": "backend", "kubernetesSecret": {"namespace": "shop", "name": "sentry-credentials",
                                                               "key": "dsn"}}],
}
ERRORS_ONLY = {
    **BASE,
    # No sharedStorageClass: a default install shares no claim across nodes.
    "kubernetes": {"namespace": "sentry", "ingress": {"className": "nginx", "clusterIssuer": "letsencrypt-prod",
                                                      "controllerNamespace": "ingress-nginx"}},
    "sentry": {"internalNetworks": [POD_CIDR],
               "mail": {"host": "smtp.example.com", "port": 587, "useTls": True, "username": "sentry",
                        "password": MAIL_PASSWORD}},
}
PG, REDIS, KAFKA, CH, S3 = EXTERNAL_PASSWORDS
FEATURE_COMPLETE = {
    **BASE,
    "kubernetes": {
        "namespace": "sentry", "storageClass": "fast-ssd", "sharedStorageClass": "shared-rwx",
        "gateway": {"name": "public", "namespace": "gateway-system", "sectionName": "https",
                    "controllerNamespace": "gateway-system"},
        "autoscaling": {"web": {"minReplicas": 2, "maxReplicas": 6},
                        "events-consumer": {"minReplicas": 2, "maxReplicas": 4}},
        "egress": {"postgres": ["10.20.1.0/24"], "kafka": ["10.20.2.0/24"], "clickhouse": ["10.20.3.0/24"]},
    },
    "sentry": {
        "profile": "feature-complete", "internalNetworks": [POD_CIDR],
        "workers": {"replicas": {"events-consumer": 4, "relay": 2}},
        "external": {
            "postgres": {"host": "pg.internal", "username": "sentry", "database": "sentry", "password": PG,
                         "sslMode": "require"},
            "redis": {"host": "redis.internal", "password": REDIS, "tls": True, "port": 6380},
            "kafka": {"bootstrapServers": ["b-1.kafka.internal:9096", "b-2.kafka.internal:9096"],
                      "securityProtocol": "SASL_SSL", "replicationFactor": 3,
                      "sasl": {"mechanism": "SCRAM-SHA-512", "username": "sentry", "password": KAFKA}},
            "clickhouse": {"host": "ch.internal", "secure": True, "username": "sentry", "password": CH},
            "s3": {"endpointUrl": "https://s3.eu-west-1.amazonaws.com", "region": "eu-west-1",
                   "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": S3},
        },
    },
}


def deploy_variants(manifests: Path) -> dict[str, Deployment]:
    rendered = {**FEATURE_COMPLETE["kubernetes"], "renderYamlTo": str(manifests)}
    variants = {
        "errors-only": dict(overrides=ERRORS_ONLY),
        "preview": dict(overrides=ERRORS_ONLY, preview=True),
        "feature-complete": dict(overrides={**FEATURE_COMPLETE, "kubernetes": rendered}),
    }
    return {name: deploy(secret_keys=("sentry",), **options) for name, options in variants.items()}


def spec_of(deployment: Deployment):
    return deployment.result.app.spec


def names(deployment: Deployment, kind: str) -> set[str]:
    return {d.object_name for d in deployment.of_kind(kind)}


def config_map(deployment: Deployment, name: str) -> dict:
    return deployment.one("ConfigMap", name).inputs["data"]
