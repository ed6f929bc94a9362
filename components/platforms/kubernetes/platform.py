"""The Kubernetes platform: realizes an AppSpec as namespaced objects through one explicit Provider.

It knows nothing of the app: stateful services become StatefulSets, scalable ones Deployments with
autoscaling, tasks Jobs named after what they run (a new image runs a new migration), scheduled
tasks CronJobs. Ordering comes from the spec (`depends_on`, `after`) as Pulumi dependencies, and
pulumi-kubernetes awaits readiness (StatefulSet, Deployment) and completion (Job) before the
dependents are applied.
"""

from __future__ import annotations

import base64
from typing import Any, Optional, Sequence
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components.plugins import PlatformArgs
from components.spec import REPORT_PREFIX, AppSpec, ScheduledTask, Service, Task, Volume, Workload
from components.platforms.kubernetes import pods, report
from components.platforms.kubernetes.naming import (
    dns_label,
    job_name,
    labels,
    selector,
    short_hash,
    task_fingerprint,
)
from components.platforms.kubernetes.settings import KubernetesSettings, Scaling

TYPE = "error-tracking:platform:Kubernetes"


def ordered(spec: AppSpec) -> list[Workload]:
    """Workloads so that everything one depends on (depends_on, after) comes before it."""
    by_name = {w.name: w for w in spec.workloads()}
    done: list[Workload] = []
    state: dict[str, str] = {}

    def visit(w: Workload, path: tuple[str, ...]) -> None:
        if state.get(w.name) == "done":
            return
        if state.get(w.name) == "visiting":
            raise ValueError(f"{spec.name}: dependency cycle: {' -> '.join((*path, w.name))}")
        state[w.name] = "visiting"
        for dep in (*w.depends_on, *w.after):
            visit(by_name[dep], (*path, w.name))
        state[w.name] = "done"
        done.append(w)

    for w in spec.workloads():
        visit(w, ())
    return done


class KubernetesPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, args: PlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        spec, settings = args.spec, args.settings
        if not isinstance(settings, KubernetesSettings):
            raise TypeError("the kubernetes platform needs KubernetesSettings (parse_settings' result)")
        spec.validate()
        entry = spec.service(spec.entrypoint.service)
        if spec.entrypoint.port not in [p.number for p in entry.ports]:
            raise ValueError(f"{spec.name}: entrypoint port {spec.entrypoint.port} is not a port of service {entry.name!r}")
        self._name = name
        self._spec = spec
        self._settings = settings
        self._instance = dns_label(name, "component name")
        self._ns = settings.namespace
        self.rendering = settings.render_yaml_to is not None

        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=pulumi.Output.secret(settings.kubeconfig) if settings.kubeconfig else None,
            context=settings.context,
            namespace=settings.namespace,
            render_yaml_to_directory=settings.render_yaml_to,
            enable_server_side_apply=True,
            # Update ConfigMaps and Secrets in place (pods roll through the env checksum) instead of
            # replacing them, which would also drop the data a reporting task patched in.
            enable_config_map_mutable=True,
            enable_secret_mutable=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace: Optional[k8s.core.v1.Namespace] = None
        if settings.create_namespace:
            self.namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata={"name": self._ns, "labels": self._labels("namespace")},
                opts=self._opts(),
            )

        self._volume_claims = self._claims()
        # What other workloads wait for: a service's StatefulSet/Deployment, a task's Job.
        self._ready: dict[str, pulumi.Resource] = {}
        self._jobs: dict[str, k8s.batch.v1.Job] = {}
        self._reports: dict[str, tuple[k8s.batch.v1.Job, str]] = {}
        self._task_outputs: dict[str, pulumi.Output[str]] = {}
        self._dsn_secrets: dict[tuple[str, str], str] = {}

        for w in ordered(spec):
            if isinstance(w, Service):
                self._service(w)
            elif isinstance(w, Task):
                self._task(w)
            elif isinstance(w, ScheduledTask):
                self._scheduled(w)
        self._network_policies()
        self.ingress = self._ingress(args.url)

        self.register_outputs({
            "namespace": self._ns,
            "host": urlsplit(args.url).hostname,
            "renderedTo": settings.render_yaml_to,
        })

    # --- helpers ---------------------------------------------------------------------------

    def _labels(self, component: str) -> dict[str, str]:
        return labels(self._spec, self._instance, component)

    def _selector(self, component: str) -> dict[str, str]:
        return selector(self._spec, self._instance, component)

    def _meta(self, name: str, component: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "namespace": self._ns, "labels": self._labels(component), **extra}

    def _opts(self, *depends_on: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
        deps = [d for d in depends_on if d is not None]
        if self.namespace is not None:
            deps.insert(0, self.namespace)
        return pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=deps, **kwargs)

    def _component(self, w: Workload) -> str:
        return dns_label(w.name, "workload")

    # --- volumes ---------------------------------------------------------------------------

    def _size(self, v: Volume) -> str:
        return f"{self._settings.volume_sizes.get(dns_label(v.name, 'volume'), v.size_gb)}Gi"

    def _claim_spec(self, v: Volume) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "access_modes": ["ReadWriteMany" if v.shared else "ReadWriteOnce"],
            "resources": {"requests": {"storage": self._size(v)}},
        }
        if self._settings.storage_class:
            spec["storage_class_name"] = self._settings.storage_class
        return spec

    def _owner(self, v: Volume) -> Optional[Service]:
        """The stateful service whose StatefulSet claims `v` itself (volumeClaimTemplate), if any."""
        mounters = [w for w in self._spec.workloads() if any(m.volume == v.name for m in w.mounts)]
        stateful = [w for w in mounters if isinstance(w, Service) and w.stateful]
        if v.shared or not stateful:
            return None
        if len(mounters) > 1:
            raise ValueError(
                f"{self._spec.name}: volume {v.name!r} belongs to stateful service {stateful[0].name!r} "
                f"but is also mounted by {', '.join(w.name for w in mounters if w is not stateful[0])}; "
                "declare it shared=True to share it"
            )
        return stateful[0]

    def _claims(self) -> dict[str, k8s.core.v1.PersistentVolumeClaim]:
        """Standalone claims: shared volumes (ReadWriteMany) and those of non-stateful workloads."""
        claims = {}
        for v in self._spec.volumes:
            mounted = any(m.volume == v.name for w in self._spec.workloads() for m in w.mounts)
            if not mounted or self._owner(v) is not None:
                continue
            name = dns_label(v.name, "volume")
            claims[v.name] = k8s.core.v1.PersistentVolumeClaim(
                f"{self._name}-pvc-{name}",
                # Not awaited: with WaitForFirstConsumer storage a claim binds only once a pod uses it.
                metadata=self._meta(name, name, annotations={"pulumi.com/skipAwait": "true"}),
                spec=self._claim_spec(v),
                opts=self._opts(),
            )
        return claims

    def _pod_volumes(self, w: Workload, templated: Sequence[str] = ()) -> tuple[list[dict], dict[str, str]]:
        volumes, names = [], {}
        for m in w.mounts:
            name = dns_label(m.volume, "volume")
            names[m.volume] = name
            if m.volume in templated or any(v["name"] == name for v in volumes):
                continue
            volumes.append({"name": name, "persistent_volume_claim": {"claim_name": name}})
        return volumes, names

    # --- environment -----------------------------------------------------------------------

    def _env(self, w: Workload) -> tuple[Optional[str], Optional[str], list[pulumi.Resource], pulumi.Output[str]]:
        """ConfigMap for plain env, Secret for secret_env; and a checksum that rolls pods on change."""
        component = self._component(w)
        name = f"{component}-env"
        deps: list[pulumi.Resource] = []
        config_map = secret = None
        if w.env:
            deps.append(k8s.core.v1.ConfigMap(
                f"{self._name}-{component}-config",
                metadata=self._meta(name, component),
                data={k: str(v) for k, v in w.env.items()},
                opts=self._opts(),
            ))
            config_map = name
        if w.secret_env:
            deps.append(k8s.core.v1.Secret(
                f"{self._name}-{component}-secret",
                metadata=self._meta(name, component),
                type="Opaque",
                string_data={k: pulumi.Output.secret(v) for k, v in w.secret_env.items()},
                opts=self._opts(),
            ))
            secret = name
        # A truncated hash of the values: enough to roll pods on a change, useless to an attacker.
        checksum = pulumi.Output.all(dict(w.env), pulumi.Output.all(**dict(w.secret_env))).apply(
            lambda values: short_hash(values, 16)
        )
        return config_map, secret, deps, pulumi.Output.unsecret(checksum)

    def _after(self, w: Workload) -> list[pulumi.Resource]:
        return [self._ready[d] for d in (*w.depends_on, *w.after)]

    # --- services --------------------------------------------------------------------------

    def _service(self, s: Service) -> None:
        component = self._component(s)
        config_map, secret, env_deps, checksum = self._env(s)
        owned = [v for v in self._spec.volumes if self._owner(v) is s]
        volumes, names = self._pod_volumes(s, templated=[v.name for v in owned])
        template = {
            "metadata": {"labels": self._labels(component), "annotations": {"checksum/env": checksum}},
            "spec": pods.pod_spec(
                s,
                [pods.container(s, config_map=config_map, secret=secret, volume_names=names)],
                volumes=volumes,
            ),
        }
        deps = [*env_deps, *self._after(s), *(self._volume_claims[m.volume] for m in s.mounts if m.volume in self._volume_claims)]
        if s.stateful:
            workload = k8s.apps.v1.StatefulSet(
                f"{self._name}-{component}",
                metadata=self._meta(component, component),
                spec={
                    "service_name": component,
                    "replicas": 1,
                    "selector": {"match_labels": self._selector(component)},
                    "template": template,
                    "volume_claim_templates": [
                        {"metadata": {"name": dns_label(v.name, "volume"), "labels": self._labels(component)},
                         "spec": self._claim_spec(v)}
                        for v in owned
                    ],
                },
                opts=self._opts(*deps),
            )
        else:
            scaling = self._scaling(s)
            spec: dict[str, Any] = {
                "selector": {"match_labels": self._selector(component)},
                "template": template,
                # Scalable: surge one new pod before removing an old one; otherwise (a single
                # instance that may hold a ReadWriteOnce volume) stop the old pod first.
                "strategy": {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 0, "max_surge": 1}}
                if s.scalable else {"type": "Recreate"},
            }
            if scaling is None or not scaling.autoscaled:
                # With an autoscaler the replica count is its job: leaving it out keeps `up` from resetting it.
                spec["replicas"] = scaling.replicas if scaling else 1
            workload = k8s.apps.v1.Deployment(
                f"{self._name}-{component}",
                metadata=self._meta(component, component),
                spec=spec,
                opts=self._opts(*deps),
            )
            if scaling is not None:
                self._scale(component, scaling, workload)
        self._ready[s.name] = workload
        if s.ports:
            k8s.core.v1.Service(
                f"{self._name}-{component}-service",
                # Named exactly like the app's service: other workloads reach `postgres:5432`.
                metadata=self._meta(component, component),
                spec={
                    "type": "ClusterIP",
                    "selector": self._selector(component),
                    "ports": [
                        {"name": n, "port": p.number, "target_port": p.number, "protocol": "TCP"}
                        for p, n in zip(s.ports, pods.port_names(s.ports))
                    ],
                },
                opts=self._opts(),
            )

    def _scaling(self, s: Service) -> Optional[Scaling]:
        if not s.scalable:
            return None
        return self._settings.web if s.name == self._spec.entrypoint.service else self._settings.worker

    def _scale(self, component: str, scaling: Scaling, deployment: k8s.apps.v1.Deployment) -> None:
        if scaling.autoscaled:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{self._name}-{component}-hpa",
                metadata=self._meta(component, component),
                spec={
                    "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": component},
                    "min_replicas": scaling.min_replicas,
                    "max_replicas": scaling.max_replicas,
                    "metrics": [{
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {
                            "type": "Utilization", "average_utilization": scaling.target_cpu_percent}},
                    }],
                },
                opts=self._opts(deployment),
            )
        if scaling.guaranteed_replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{self._name}-{component}-pdb",
                metadata=self._meta(component, component),
                spec={"max_unavailable": 1, "selector": {"match_labels": self._selector(component)}},
                opts=self._opts(),
            )

    # --- tasks -----------------------------------------------------------------------------

    def _task(self, t: Task) -> None:
        component = self._component(t)
        config_map, secret, env_deps, _ = self._env(t)
        volumes, names = self._pod_volumes(t)
        deps = [*env_deps, *self._after(t), *(self._volume_claims[m.volume] for m in t.mounts if m.volume in self._volume_claims)]
        command = None
        service_account = None
        if t.reports:
            if not t.command:
                raise ValueError(f"{self._spec.name}/{t.name}: a reporting task needs an explicit command on Kubernetes")
            secret_name = report.report_secret_name(component)
            command = report.wrapped_command(t.command, secret_name, REPORT_PREFIX)
            service_account, rbac = self._report_access(component, secret_name)
            deps.extend(rbac)
        container = pods.container(t, config_map=config_map, secret=secret, volume_names=names, command=command)
        job_spec = {
            "backoff_limit": 2,
            "active_deadline_seconds": self._settings.task_timeout_seconds,
            # No ttlSecondsAfterFinished: the finished Job must stay, or Pulumi would recreate it.
            "template": {
                "metadata": {"labels": self._labels(component)},
                "spec": pods.pod_spec(t, [container], volumes=volumes, restart_policy="Never",
                                      service_account=service_account),
            },
        }
        # The whole Job (immutable once created) plus the env values it reads: any change is a new run.
        name = job_name(t, task_fingerprint(t, {"job": job_spec}))
        timeout = f"{self._settings.task_timeout_seconds + 120}s"
        job = k8s.batch.v1.Job(
            f"{self._name}-{component}-job",
            metadata=self._meta(name, component, annotations={"pulumi.com/replaceUnready": "true"}),
            spec=job_spec,
            opts=self._opts(*deps, custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)),
        )
        self._ready[t.name] = job
        self._jobs[t.name] = job
        if t.reports:
            self._reports[t.name] = (job, report.report_secret_name(component))

    def _report_access(self, component: str, secret_name: str) -> tuple[str, list[pulumi.Resource]]:
        """The Secret the report lands in, and a service account allowed to patch only it."""
        name = f"{component}-reporter"
        target = k8s.core.v1.Secret(
            f"{self._name}-{component}-report",
            metadata=self._meta(secret_name, component),
            type="Opaque",
            # The task writes the data; Pulumi only owns the empty object.
            opts=self._opts(ignore_changes=["data", "stringData"]),
        )
        account = k8s.core.v1.ServiceAccount(
            f"{self._name}-{component}-reporter-account",
            metadata=self._meta(name, component),
            automount_service_account_token=False,
            opts=self._opts(),
        )
        role = k8s.rbac.v1.Role(
            f"{self._name}-{component}-reporter-role",
            metadata=self._meta(name, component),
            rules=report.role_rules(secret_name),
            opts=self._opts(),
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{self._name}-{component}-reporter-binding",
            metadata=self._meta(name, component),
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            subjects=[{"kind": "ServiceAccount", "name": name, "namespace": self._ns}],
            opts=self._opts(role, account),
        )
        return name, [target, account, role, binding]

    def _scheduled(self, t: ScheduledTask) -> None:
        """A CronJob at hour:minute UTC; Kubernetes records each run's success, so `health` is unused."""
        component = self._component(t)
        config_map, secret, env_deps, _ = self._env(t)
        volumes, names = self._pod_volumes(t)
        deps = [*env_deps, *self._after(t), *(self._volume_claims[m.volume] for m in t.mounts if m.volume in self._volume_claims)]
        container = pods.container(t, config_map=config_map, secret=secret, volume_names=names)
        self._ready[t.name] = k8s.batch.v1.CronJob(
            f"{self._name}-{component}-cronjob",
            metadata=self._meta(component, component),
            spec={
                "schedule": f"{t.minute} {t.hour} * * *",
                "time_zone": "Etc/UTC",
                "concurrency_policy": "Forbid",
                "starting_deadline_seconds": 3600,
                "successful_jobs_history_limit": 3,
                "failed_jobs_history_limit": 3,
                "job_template": {
                    "metadata": {"labels": self._labels(component)},
                    "spec": {
                        "backoff_limit": 1,
                        "active_deadline_seconds": self._settings.task_timeout_seconds,
                        "template": {
                            "metadata": {"labels": self._labels(component)},
                            "spec": pods.pod_spec(t, [container], volumes=volumes, restart_policy="Never"),
                        },
                    },
                },
            },
            opts=self._opts(*deps),
        )

    # --- network ---------------------------------------------------------------------------

    def _network_policies(self) -> None:
        """Depended-on services accept only their dependents; the entrypoint accepts its port."""
        entry = self._spec.entrypoint
        for s in self._spec.services:
            dependents = self._spec.dependents_of(s.name)
            rules: list[dict[str, Any]] = []
            if s.name == entry.service:
                rules.append({"ports": [{"protocol": "TCP", "port": entry.port}]})
            if dependents:
                rule: dict[str, Any] = {"from_": [{"pod_selector": {
                    "match_labels": {
                        "app.kubernetes.io/name": self._spec.name,
                        "app.kubernetes.io/instance": self._instance,
                    },
                    "match_expressions": [{
                        "key": "app.kubernetes.io/component",
                        "operator": "In",
                        "values": sorted(self._component(self._workload(d)) for d in dependents),
                    }],
                }}]}
                if s.ports:
                    rule["ports"] = [{"protocol": "TCP", "port": p.number} for p in s.ports]
                rules.append(rule)
            if not rules:
                continue
            component = self._component(s)
            k8s.networking.v1.NetworkPolicy(
                f"{self._name}-{component}-netpol",
                metadata=self._meta(f"{component}-ingress", component),
                spec={
                    "pod_selector": {"match_labels": self._selector(component)},
                    "policy_types": ["Ingress"],
                    "ingress": rules,
                },
                opts=self._opts(),
            )

    def _workload(self, name: str) -> Workload:
        return next(w for w in self._spec.workloads() if w.name == name)

    def _ingress(self, url: str) -> k8s.networking.v1.Ingress:
        parts = urlsplit(url)
        entry = self._spec.entrypoint
        ingress = self._settings.ingress
        annotations = dict(ingress.annotations)
        spec: dict[str, Any] = {
            "rules": [{
                "host": parts.hostname,
                "http": {"paths": [{
                    "path": parts.path.rstrip("/") or "/",
                    "path_type": "Prefix",
                    "backend": {"service": {"name": self._component(self._workload(entry.service)),
                                            "port": {"number": entry.port}}},
                }]},
            }],
        }
        if ingress.class_name:
            spec["ingress_class_name"] = ingress.class_name
        if parts.scheme == "https":
            tls: dict[str, Any] = {"hosts": [parts.hostname]}
            if ingress.cluster_issuer:
                annotations["cert-manager.io/cluster-issuer"] = ingress.cluster_issuer
                tls["secret_name"] = f"{dns_label(self._spec.name, 'app name')}-tls"
            elif ingress.tls_secret:
                tls["secret_name"] = ingress.tls_secret
            # Neither: the ingress controller's default certificate serves the host.
            spec["tls"] = [tls]
        component = self._component(self._workload(entry.service))
        return k8s.networking.v1.Ingress(
            f"{self._name}-ingress",
            metadata=self._meta(dns_label(self._spec.name, "app name"), component,
                                **({"annotations": annotations} if annotations else {})),
            spec=spec,
            opts=self._opts(self._ready[entry.service]),
        )

    # --- the Platform protocol -------------------------------------------------------------

    def task_output(self, task_name: str) -> pulumi.Output[str]:
        """The report line the task stored in its Secret, read back after its Job completed (secret).

        Render mode applies nothing, so there is nothing to read: the result is an unknown
        Output, and whatever the app derives from it (DSNs) stays unknown too.
        """
        if task_name not in self._reports:
            raise KeyError(f"{task_name!r} is not a reporting task of {self._spec.name} (reports=True)")
        if task_name in self._task_outputs:
            return self._task_outputs[task_name]
        job, secret_name = self._reports[task_name]
        if self.rendering:
            pulumi.log.warn(
                f"kubernetes.renderYamlTo is set: the {task_name} task's report cannot be read, "
                "so DSN outputs stay unknown; apply the manifests and read the Secret "
                f"{self._ns}/{secret_name} (key {report.REPORT_KEY}) instead",
                resource=self,
            )
            result = unknown_secret()
        else:
            # The id waits for the Job, so the Secret is read only after the task wrote to it.
            ident = job.metadata.apply(lambda _: f"{self._ns}/{secret_name}")
            stored = k8s.core.v1.Secret.get(
                f"{self._name}-{self._component(self._workload(task_name))}-report-read",
                ident,
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[job]),
            )
            job_name_ = job.metadata.apply(lambda m: m.name if m else "")
            result = pulumi.Output.all(stored.data, job_name_).apply(
                lambda values: _decode_report(values[0], self._ns, secret_name, values[1])
            )
        self._task_outputs[task_name] = pulumi.Output.secret(result)
        return self._task_outputs[task_name]

    def deliver_dsn(self, name: str, target: Any, dsn: pulumi.Output[str]) -> pulumi.Output[str]:
        """A Secret `target.name` in `target.namespace` (which must exist: it is the application's)."""
        secret = target.kubernetes_secret if hasattr(target, "kubernetes_secret") else target
        if secret is None:
            raise ValueError(f"dsn target for {name!r} has no kubernetesSecret: the kubernetes platform cannot deliver it")
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
            f"{self._name}-dsn-{secret.namespace}-{secret.name}",
            metadata={
                "name": secret.name,
                "namespace": secret.namespace,
                "labels": self._labels("dsn"),
            },
            type="Opaque",
            string_data={secret.key: pulumi.Output.secret(dsn)},
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        return delivered.metadata.apply(lambda m: f"secret {m['namespace']}/{m['name']} key {secret.key}")


def check(spec: AppSpec, settings: KubernetesSettings) -> list[str]:
    """Settings that must match the app's description (run before any resource is declared)."""
    known = {dns_label(v.name, "volume") for v in spec.volumes}
    return [
        f"error-tracking:kubernetes.volumeSizes.{key}: {spec.name} has no volume {key!r} "
        f"(volumes: {', '.join(sorted(known))})"
        for key in settings.volume_sizes
        if key not in known
    ]


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
