"""The Kubernetes platform: realizes an AppSpec as namespaced objects through one explicit Provider.

It knows nothing of the app. The parts live in their own modules: storage (claims, files, env),
workloads (StatefulSets, Deployments, Jobs, CronJobs), network (a closed namespace) and the public
entry (ingress, or gateway for a Gateway API route); this component creates the provider and
namespace, declares the parts in the description's start order, and implements the platform
protocol (reports back, DSNs out).
"""

from __future__ import annotations

import base64
from typing import Any, Optional
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes import admission, gateway, ingress, network, report, stop, storage, workloads
from components.platforms.kubernetes import claims as claim_checks
from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.settings import KubernetesSettings
from components.plugins import PlatformArgs
from components.spec import ScheduledTask, Service, Task

TYPE = "error-tracking:platforms:Kubernetes"
# Earlier releases registered the component under this type; the alias keeps every child's URN.
OLD_TYPES = ("error-tracking:platform:Kubernetes",)


class KubernetesPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, args: PlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        aliases = [pulumi.Alias(type_=old) for old in OLD_TYPES]
        super().__init__(TYPE, name, None, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases)))
        settings = args.settings
        if not isinstance(settings, KubernetesSettings):
            raise TypeError("the kubernetes platform needs KubernetesSettings (parse_settings' result)")
        spec = args.spec.for_platform("kubernetes")
        # A provider passed in (the package's `providers` option) decides the cluster instead.
        self.provider = args.provider or k8s.Provider(
            f"{name}-provider",
            kubeconfig=pulumi.Output.secret(settings.kubeconfig) if settings.kubeconfig else None,
            # The `kubernetes` section set as a secret keeps which cluster it names secret too.
            context=pulumi.Output.secret(settings.context) if settings.secret and settings.context else settings.context,
            namespace=settings.namespace,
            render_yaml_to_directory=settings.render_yaml_to,
            enable_server_side_apply=True,
            # Update ConfigMaps and Secrets in place (pods roll through the checksum) instead of
            # replacing them, which would also drop the data a reporting task patched in.
            enable_config_map_mutable=True,
            enable_secret_mutable=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        ctx = Context(name=name, spec=spec, settings=settings, provider=self.provider, parent=self,
                      protect=args.protect)
        security = admission.namespace_labels(self._pod_workloads(spec))
        if settings.create_namespace:
            # Deleting a Namespace deletes its claims and their data: it is kept like them.
            ctx.namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata={"name": settings.namespace, "labels": {**ctx.labels("namespace"), **security}},
                opts=ctx.data_opts(),
            )
        else:
            labels = " ".join(f"{k}={v}" for k, v in security.items())
            pulumi.log.warn(
                f"kubernetes.createNamespace is false: this program will close namespace {settings.namespace} with a "
                "default-deny NetworkPolicy, so every pod in it, the app's and any other, loses all traffic except "
                "what the app's own policies allow; give the app a namespace of its own. The namespace is not "
                f"labelled for Pod Security Admission either: kubectl label namespace {settings.namespace} {labels}",
                resource=self,
            )
        self._ctx = ctx
        self.rendering = ctx.rendering
        # What the next deployment checks its claims against (the stack's `deployed` output).
        ctx.claims_checked = claim_checks.checked(ctx, claim_checks.last_deployment(ctx))
        self.recorded = {claim_checks.RECORD_KEY: ctx.claims_checked}
        claims = storage.claims(ctx)
        files = storage.config_files(ctx)
        self._reports: dict[str, tuple[k8s.batch.v1.Job, str]] = {}
        self._task_outputs: dict[str, pulumi.Output[str]] = {}
        self._dsn_secrets: dict[tuple[str, str], str] = {}
        # Policies first: every workload waits for the ones that let it talk (Context.after).
        network.declare(ctx)
        # Steps that stop what an upgrade replaces come first; what runs after them waits for them.
        stopping = {s.name: stop.declare(ctx, s) for s in spec.stops}
        ctx.ready.update({name: declared.job for name, declared in stopping.items()})
        for w in spec.start_order():
            if isinstance(w, Service):
                if w.beside is None:  # a helper runs in its service's pods (workloads.service)
                    workloads.service(ctx, w, claims, files)
            elif isinstance(w, Task):
                reporting = workloads.task(ctx, w, claims, files)
                if reporting:
                    self._reports[w.name] = reporting
            elif isinstance(w, ScheduledTask):
                workloads.scheduled(ctx, w, claims, files)
        for s in spec.stops:
            stop.resume(ctx, s, stopping[s.name])
        # The public entry: a route on the cluster's Gateway when one is named, else an Ingress.
        edge = gateway if settings.gateway else ingress
        self.ingress = edge.declare(ctx, args.url, secret=args.url_secret)
        self.register_outputs({
            "namespace": settings.namespace,
            "host": urlsplit(args.url).hostname,
            "renderedTo": settings.render_yaml_to,
        })

    @staticmethod
    def _pod_workloads(spec):
        """Every workload that becomes a pod here, the post-deploy check's Job included."""
        from components.platforms.kubernetes import deploy_check

        return (*spec.workloads(), deploy_check.workload())

    # --- the Platform protocol -------------------------------------------------------------

    def task_output(self, task_name: str) -> pulumi.Output[str]:
        """The report line the task stored in its Secret, read back after its Job completed (secret).

        Render mode applies nothing, so there is nothing to read: the result is an unknown
        Output, and whatever the app derives from it (DSNs) stays unknown too.
        """
        if task_name not in self._reports:
            raise KeyError(f"{task_name!r} is not a reporting task of {self._ctx.spec.name} (reports=True)")
        if task_name in self._task_outputs:
            return self._task_outputs[task_name]
        job, secret_name = self._reports[task_name]
        ns = self._ctx.ns
        if self.rendering:
            pulumi.log.warn(
                f"kubernetes.renderYamlTo is set: the {task_name} task's report cannot be read, "
                "so DSN outputs stay unknown; apply the manifests and read the Secret "
                f"{ns}/{secret_name} (key {report.REPORT_KEY}) instead",
                resource=self,
            )
            result = unknown_secret()
        else:
            # The id waits for the Job, so the Secret is read only after the task wrote to it.
            ident = job.metadata.apply(lambda _: f"{ns}/{secret_name}")
            stored = k8s.core.v1.Secret.get(
                f"{self._ctx.name}-{self._ctx.component(task_name)}-report-read",
                ident,
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[job]),
            )
            job_name = job.metadata.apply(lambda m: m.name if m else "")
            result = pulumi.Output.all(stored.data, job_name).apply(
                lambda values: _decode_report(values[0], ns, secret_name, values[1])
            )
        self._task_outputs[task_name] = pulumi.Output.secret(result)
        return self._task_outputs[task_name]

    def deliver_dsn(self, name: str, target: Any, dsn: pulumi.Output[str]) -> pulumi.Output[str]:
        """A Secret `target.name` in `target.namespace` (which must exist: it is the application's)."""
        secret = target.target
        key = (secret.namespace, secret.name)
        if key in self._dsn_secrets:
            raise ValueError(
                f"dsnTargets: {name!r} and {self._dsn_secrets[key]!r} both deliver to Secret "
                f"{secret.namespace}/{secret.name}; use one Secret per project"
            )
        self._dsn_secrets[key] = name
        if self.rendering:
            pulumi.log.warn(
                f"kubernetes.renderYamlTo is set: the DSN Secret {secret.namespace}/{secret.name} is not "
                "rendered, because the DSN is only known once the bootstrap task ran on a cluster",
                resource=self,
            )
            return pulumi.Output.from_input("not delivered: rendering manifests only")
        delivered = k8s.core.v1.Secret(
            f"{self._ctx.name}-dsn-{secret.namespace}-{secret.name}",
            metadata={"name": secret.name, "namespace": secret.namespace, "labels": self._ctx.labels("dsn")},
            type="Opaque",
            string_data={secret.key: pulumi.Output.secret(dsn)},
            # In the namespace this platform creates, the Secret must wait for it like the rest.
            opts=self._ctx.opts() if secret.namespace == self._ctx.ns else
            pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        return delivered.metadata.apply(lambda m: f"secret {m['namespace']}/{m['name']} key {secret.key}")

    def post_deploy_check(self, dsn: pulumi.Output[str], triggers, timeout_seconds: int):
        """The post-deploy check as a Job of its own (see deploy_check.py)."""
        from components.platforms.kubernetes import deploy_check

        return deploy_check.declare(self._ctx, dsn, triggers, timeout_seconds)


def unknown_secret() -> pulumi.Output[str]:
    """An Output that is never known (as in a preview): everything derived from it stays unknown."""
    import asyncio

    def resolved(value: Any) -> asyncio.Future:
        future = asyncio.get_event_loop().create_future()
        future.set_result(value)
        return future

    return pulumi.Output(set(), resolved(None), resolved(False), resolved(True))


def _decode_report(data: Optional[dict], namespace: str, secret: str, job: str) -> str:
    encoded = (data or {}).get(report.REPORT_KEY)
    if not encoded:
        raise ValueError(
            f"Secret {namespace}/{secret} has no {report.REPORT_KEY!r} entry although Job {job} completed; "
            f"read the task's log: kubectl -n {namespace} logs job/{job}"
        )
    return base64.b64decode(encoded).decode()
