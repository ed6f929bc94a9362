// A TypeScript program with its own error tracker: GlitchTip on the Kubernetes cluster this program
// deploys to, through the error-tracking package (`pulumi package add ../../package`), and the DSN
// of its project handed to the program's own Deployment, never written anywhere by hand.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as errorTracking from "@pulumi/error-tracking";

const config = new pulumi.Config();

// One provider for everything here, the tracker included (its `providers` option): the tracker
// updates its ConfigMaps and Secrets in place, which these two settings allow.
const cluster = new k8s.Provider("cluster", {
    enableServerSideApply: true,
    enableConfigMapMutable: true,
    enableSecretMutable: true,
});

const shop = new k8s.core.v1.Namespace("shop", { metadata: { name: "shop" } }, { provider: cluster });

const tracker = new errorTracking.ErrorTracking("errors", {
    app: "glitchtip",
    platform: "kubernetes",
    url: config.require("url"),
    adminEmail: config.require("adminEmail"),
    organization: "shop",
    projects: [{ name: "api", platform: "node" }],
    kubernetes: {
        namespace: "errors",
        sharedStorageClass: config.require("sharedStorageClass"),
        ingress: {
            className: config.get("ingressClass") ?? "nginx",
            clusterIssuer: config.get("clusterIssuer") ?? "letsencrypt-prod",
            controllerNamespace: config.get("ingressNamespace") ?? "ingress-nginx",
        },
    },
}, { providers: [cluster] });

// The DSN is a secret output: it stays secret in this Secret's state and never shows in the Deployment.
const dsn = new k8s.core.v1.Secret("api-dsn", {
    metadata: { namespace: shop.metadata.name },
    stringData: { SENTRY_DSN: tracker.dsns.apply(dsns => dsns["api"]) },
}, { provider: cluster });

const labels = { "app.kubernetes.io/name": "api" };
new k8s.apps.v1.Deployment("api", {
    metadata: { namespace: shop.metadata.name, labels },
    spec: {
        selector: { matchLabels: labels },
        template: {
            metadata: { labels },
            spec: {
                securityContext: { runAsNonRoot: true },
                containers: [{
                    name: "api",
                    image: config.require("image"),
                    env: [{ name: "SENTRY_DSN", valueFrom: { secretKeyRef: { name: dsn.metadata.name, key: "SENTRY_DSN" } } }],
                    resources: { requests: { memory: "256Mi" }, limits: { memory: "256Mi" } },
                    securityContext: { allowPrivilegeEscalation: false },
                }],
            },
        },
    },
}, { provider: cluster });

export const trackerUrl = tracker.url;
export const adminPassword = tracker.adminPassword;
// The tracker's next deployment reads this output back (upgrade paths, claim sizes): keep it.
export const deployed = tracker.deployed;
