"""Where Sentry keeps event payloads and uploaded files, on both platforms, through the real program.

Docker builds upstream's image (the published one plus sentry-nodestore-s3) from
images/sentry-nodestore/Dockerfile and keeps payloads in SeaweedFS's `nodestore` bucket; Kubernetes
keeps today's Postgres node store unless `sentry.nodestoreImage` names such an image, and puts
uploaded files in SeaweedFS so that no volume is shared. What nothing uses is not deployed, and a
new default never strands what an existing stack holds.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
import yaml

from components import spec
from components.apps.sentry import catalog, storage
from components.apps.sentry.install import BUCKET_CLIENT_USER
from components.apps.sentry.settings import parse_settings
from components.validation import Problems, Section
from tests.harness import deploy, env_of
from tests.mock_providers import built_image_id
from tests.k8s_helpers import containers, pod_spec
from tests.sentry_kubernetes_cases import names

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / storage.NODESTORE_CONTEXT / "Dockerfile"
SENTRY = {"app": "sentry"}
# No kubernetes.sharedStorageClass: a default install shares no claim across nodes.
EDGE = {"ingress": {"controllerNamespace": "ingress-nginx"}}
K8S = {"app": "sentry", "platform": "kubernetes", "sentry": {"internalNetworks": ["10.1.0.0/16"]}, "kubernetes": EDGE}
SENTRY_SHAPED = {n for n, e in catalog.CATALOG.items() if e.shape == catalog.SENTRY}
IMAGE = "docker:index/image:Image"
# The tasks that run as `web` (install.BASE): everything but the bucket client.
SENTRY_STEPS = {"create-kafka-topics", "sentry-upgrade", "create-admin", "bootstrap"}


def running(deployment, prefix="sentry-") -> dict:
    return {n[len(prefix):]: c for n, c in deployment.containers().items()}


def refused(overrides, **options) -> str:
    with pytest.raises(Exception) as error:
        deploy(overrides, **options)
    return str(error.value)


@pytest.fixture(scope="module")
def docker():
    return deploy(SENTRY)


@pytest.fixture(scope="module")
def kubernetes():
    return deploy(K8S)


# --- the Dockerfile ----------------------------------------------------------------------------

def test_the_dockerfile_is_upstreams_build_pinned_to_the_release_and_a_commit():
    text = DOCKERFILE.read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert instructions[:2] == ["ARG SENTRY_IMAGE=ghcr.io/getsentry/sentry:26.8.0", "FROM ${SENTRY_IMAGE}"]
    (pin,) = re.findall(r"^ARG SENTRY_NODESTORE_S3_COMMIT=([0-9a-f]+)$", text, re.M)
    assert len(pin) == 40  # a whole commit, never a branch (upstream: archive/main.zip)
    assert "https://github.com/getsentry/sentry-nodestore-s3/archive/${SENTRY_NODESTORE_S3_COMMIT}.zip" in text
    assert "main.zip" not in text.replace("archive/main.zip", "") and "import sentry_nodestore_s3" in text
    # the published image's user handling and entrypoint stay: nothing else is set
    assert not [i for i in instructions if i.split()[0] in ("USER", "ENTRYPOINT", "CMD", "COPY", "ADD")]
    # the context holds the Dockerfile alone (the provider sends and hashes the whole directory)
    assert [p.name for p in DOCKERFILE.parent.iterdir()] == ["Dockerfile"]
    # relative to the project root, where Pulumi runs the program
    assert (ROOT / "Pulumi.yaml").exists() and not Path(storage.NODESTORE_CONTEXT).is_absolute()


# --- Docker: built on the engine, used everywhere -------------------------------------------------

def test_docker_builds_sentrys_image_on_its_own_engine_without_pushing(docker):
    (build,) = docker.of_type(IMAGE)
    assert build.inputs["imageName"] == "error-tracking/sentry-nodestore:26.8.0" and build.inputs["skipPush"] is True
    assert build.inputs["build"] == {"context": "images/sentry-nodestore",
                                     "dockerfile": "images/sentry-nodestore/Dockerfile",
                                     "args": {"SENTRY_IMAGE": "ghcr.io/getsentry/sentry:26.8.0"}}
    # no platform forced: the engine's own architecture, as the containers that run it
    assert "platform" not in build.inputs["build"]
    engine = next(d for d in docker.declared if d.typ == "pulumi:providers:docker")
    assert build.provider.startswith(engine.urn + "::")
    assert {c.provider for c in docker.containers().values()} == {build.provider}
    # the published Sentry image itself is not pulled: the build reads it
    pulled = {i.inputs["name"] for i in docker.of_type("docker:index/remoteImage:RemoteImage")}
    assert "ghcr.io/getsentry/sentry:26.8.0" not in pulled


def test_every_sentry_process_and_install_step_runs_the_built_image(docker):
    (build,) = docker.of_type(IMAGE)
    image_id = built_image_id(build.inputs)  # the build's own output (repoDigest: the local image ID)
    containers_ = running(docker)
    users = {n for n in containers_ if n in SENTRY_SHAPED or n in SENTRY_STEPS}
    assert users == (SENTRY_SHAPED & set(catalog.service_names("errors-only"))) | SENTRY_STEPS
    assert {containers_[n].inputs["image"] for n in users} == {image_id}
    assert all(build.urn in containers_[n].dependencies for n in users)
    assert all(containers_[n].inputs["image"] != image_id for n in containers_ if n not in users)


def test_the_node_store_is_upstreams_s3_block_with_its_bucket_and_lifecycle(docker):
    conf = running(docker)["web"].inputs["uploads"]
    conf = next(u["content"] for u in conf if u["file"] == "/etc/sentry/sentry.conf.py")
    assert 'SENTRY_NODESTORE = "sentry_nodestore_s3.S3PassthroughDjangoNodeStorage"' in conf
    assert '"bucket_name": \'nodestore\'' in conf and '"endpoint_url": \'http://seaweedfs:8333\'' in conf
    # events stored in Postgres before the switch stay readable and are deleted there too
    assert '"read_through": True' in conf and '"delete_through": True' in conf
    buckets = running(docker)["create-buckets"]
    script = buckets.inputs["command"][0]
    assert "create-bucket --bucket nodestore" in script and '"Days": 90' in script
    assert buckets.urn in running(docker)["create-kafka-topics"].dependencies
    # the files stay on sentry-data on one Docker host, as upstream
    config = next(u["content"] for u in running(docker)["web"].inputs["uploads"] if u["file"] == "/etc/sentry/config.yml")
    assert yaml.safe_load(config)["filestore.backend"] == "filesystem" and "files" not in script.split("--bucket ")


def test_an_unchanged_build_keeps_its_image_and_a_new_release_or_dockerfile_builds_again(
        docker, tmp_path, monkeypatch):
    first, again = docker, deploy(SENTRY, fresh=True)
    (one,), (two,) = first.of_type(IMAGE), again.of_type(IMAGE)
    assert one.raw == two.raw  # the same inputs: the provider has nothing to rebuild
    assert running(first)["web"].inputs["image"] == running(again)["web"].inputs["image"]
    newer = deploy({**SENTRY, "sentry": {"version": "26.8.1"}}, fresh=True).of_type(IMAGE)[0]
    assert newer.inputs["build"]["args"] == {"SENTRY_IMAGE": "ghcr.io/getsentry/sentry:26.8.1"}
    assert built_image_id(newer.inputs) != built_image_id(one.inputs)
    # an edited Dockerfile is a changed context: a new image, and the containers follow it
    context = tmp_path / "sentry-nodestore"
    shutil.copytree(DOCKERFILE.parent, context)
    monkeypatch.setattr(storage, "NODESTORE_CONTEXT", str(context))
    (context / "Dockerfile").write_text(DOCKERFILE.read_text().replace("47e1f94e", "00000000"))
    edited = deploy(SENTRY, fresh=True)
    assert running(first)["web"].inputs["image"] != running(edited)["web"].inputs["image"]


def test_a_host_that_cannot_build_keeps_the_postgres_node_store_and_the_published_image():
    deployment = deploy({**SENTRY, "sentry": {"nodestore": "postgres"}})
    assert deployment.of_type(IMAGE) == []
    pulled = {i.inputs["name"] for i in deployment.of_type("docker:index/remoteImage:RemoteImage")}
    assert "ghcr.io/getsentry/sentry:26.8.0" in pulled
    conf = next(u["content"] for u in running(deployment)["web"].inputs["uploads"]
                if u["file"] == "/etc/sentry/sentry.conf.py")
    assert 'SENTRY_NODESTORE = "sentry.nodestore.django.DjangoNodeStorage"' in conf
    # nothing keeps data in SeaweedFS any more: neither it, its volume, its bucket step nor its keys
    assert not {"seaweedfs", "create-buckets"} & set(running(deployment))
    assert "sentry-seaweedfs" not in {v.inputs["name"] for v in deployment.of_type("docker:index/volume:Volume")}
    assert "AWS_ACCESS_KEY_ID" not in env_of(running(deployment)["web"])
    assert deployment.outputs["deployed"]["nodestore"] == "postgres"


def test_external_mail_leaves_the_bundled_relay_out():
    deployment = deploy({**SENTRY, "sentry": {"mail": {"host": "smtp.example.com", "port": 587, "useTls": True}}})
    assert "smtp" not in running(deployment)
    volumes = {v.inputs["name"] for v in deployment.of_type("docker:index/volume:Volume")}
    assert not {"sentry-sentry-smtp", "sentry-sentry-smtp-log"} & volumes
    assert "sentry-smtp" not in {d.name for d in deployment.declared if d.name.endswith("-smtp")}


# --- Kubernetes: no build, no shared claim -------------------------------------------------------

def test_kubernetes_keeps_payloads_in_postgres_and_files_in_seaweedfs_by_default(kubernetes):
    assert kubernetes.of_type(IMAGE) == []
    web = containers(kubernetes.one("Deployment", "web"))[0]
    assert web["image"] == "ghcr.io/getsentry/sentry:26.8.0"
    conf = kubernetes.one("ConfigMap", "sentry-conf-py").inputs["data"]["content"]
    assert 'SENTRY_NODESTORE = "sentry.nodestore.django.DjangoNodeStorage"' in conf
    # upstream's commented `filestore.backend: 's3'` with the bundled store's address; keys from env
    assert 'SENTRY_OPTIONS["filestore.backend"] = "s3"' in conf
    assert '"bucket_name": \'files\'' in conf and '"access_key": _required(\'AWS_ACCESS_KEY_ID\')' in conf
    options = yaml.safe_load(kubernetes.one("ConfigMap", "sentry-config-yml").inputs["data"]["content"])
    assert "filestore.backend" not in options  # it would win over sentry.conf.py
    # the files bucket never expires (Sentry deletes files itself); nothing else is created
    script = kubernetes.one("ConfigMap", "create-buckets-env").inputs["data"]
    job = next(j for j in kubernetes.of_kind("Job") if j.object_name.startswith("create-buckets"))
    command = containers(job)[0]["args"][0]
    assert "create-bucket --bucket files" in command and "lifecycle" not in command
    assert "nodestore" not in command and script["HOME"] == "/tmp"
    assert containers(job)[0]["securityContext"]["runAsUser"] == BUCKET_CLIENT_USER
    assert kubernetes.outputs["deployed"]["filestore"] == "s3"


def test_no_claim_is_shared_and_the_caches_live_in_each_pod(kubernetes):
    claims = {c.object_name: c.inputs["spec"]["accessModes"] for c in kubernetes.of_kind("PersistentVolumeClaim")}
    assert not {"sentry-data", "sentry-symbolicator"} & set(claims)
    assert {modes[0] for modes in claims.values()} == {"ReadWriteOnce"} and "backups" in claims
    for name in ("web", "events-consumer", "taskworker"):
        assert {"name": "sentry-data", "emptyDir": {"sizeLimit": "20Gi"}} in pod_spec(
            kubernetes.one("Deployment", name))["volumes"], name


def test_symbolicators_cleaner_runs_in_symbolicators_pods_on_their_own_cache(kubernetes):
    symbolicator = kubernetes.one("Deployment", "symbolicator")
    server, cleaner = containers(symbolicator)
    assert cleaner["name"] == "symbolicator-cleanup"
    assert cleaner["args"] == ["cleanup", "-c", "/etc/symbolicator/config.yml", "--repeat", "1h"]
    cache = {"name": "sentry-symbolicator", "emptyDir": {"sizeLimit": "10Gi"}}
    assert cache in pod_spec(symbolicator)["volumes"]
    for container in (server, cleaner):
        assert {"name": "sentry-symbolicator", "mountPath": "/data", "readOnly": False} in container["volumeMounts"]
        assert container["securityContext"]["runAsUser"] == 65532
    # its own config file mount and env, no Deployment and no policy of its own
    assert len({v["name"] for v in pod_spec(symbolicator)["volumes"]}) == len(pod_spec(symbolicator)["volumes"])
    assert "symbolicator-cleanup" not in names(kubernetes, "Deployment")
    assert "symbolicator-cleanup-traffic" not in names(kubernetes, "NetworkPolicy")
    assert {"configMapRef": {"name": "symbolicator-cleanup-env"}} in cleaner["envFrom"]


def test_an_operators_image_moves_the_payloads_to_s3_on_kubernetes_too():
    image = "registry.example.com/sentry-nodestore:26.8.0"
    deployment = deploy({**K8S, "sentry": {**K8S["sentry"], "nodestoreImage": image}})
    assert deployment.of_type(IMAGE) == []
    assert containers(deployment.one("Deployment", "web"))[0]["image"] == image
    conf = deployment.one("ConfigMap", "sentry-conf-py").inputs["data"]["content"]
    assert "sentry_nodestore_s3.S3PassthroughDjangoNodeStorage" in conf
    job = next(j for j in deployment.of_kind("Job") if j.object_name.startswith("create-buckets"))
    assert "create-bucket --bucket nodestore" in containers(job)[0]["args"][0]


def test_s3_payloads_without_an_image_on_kubernetes_are_refused_with_what_to_do():
    message = refused({**K8S, "sentry": {**K8S["sentry"], "nodestore": "s3"}})
    assert "error-tracking:sentry.nodestore: s3 needs sentry-nodestore-s3 in Sentry's image" in message
    assert "images/sentry-nodestore/Dockerfile" in message and "sentry.nodestoreImage" in message


def test_files_kept_on_sentry_data_need_a_read_write_many_class():
    keep = {**K8S, "sentry": {**K8S["sentry"], "filestore": "filesystem"}}
    message = refused(keep)
    assert "error-tracking:kubernetes.sharedStorageClass: is required" in message and "sentry-data" in message
    deployment = deploy({**keep, "kubernetes": {"sharedStorageClass": "nfs-rwx", **EDGE}})
    claim = deployment.one("PersistentVolumeClaim", "sentry-data").inputs["spec"]
    assert claim["accessModes"] == ["ReadWriteMany"] and claim["storageClassName"] == "nfs-rwx"


# --- settings nothing would use, and data a new default would strand ------------------------------

def test_an_external_s3_that_nothing_would_use_is_refused_naming_the_settings():
    s3 = {"endpointUrl": "https://s3.example.com", "accessKeyId": "AKIA", "secretAccessKey": "x"}
    message = refused({**SENTRY, "sentry": {"nodestore": "postgres", "external": {"s3": s3}}},
                      secret_keys=("sentry",))
    assert "error-tracking:sentry.external.s3: nothing would use it" in message
    assert "sentry.nodestore is postgres" in message and "sentry.filestore" in message
    # with the defaults it holds the payloads (Docker) or the files (Kubernetes), and no SeaweedFS runs
    used = deploy({**SENTRY, "sentry": {"external": {"s3": s3}}}, secret_keys=("sentry",))
    assert "seaweedfs" not in running(used) and "create-buckets" not in running(used)


def test_an_existing_kubernetes_stack_is_not_moved_off_its_files_silently():
    before = {"deployed": {"app": "sentry", "version": "26.8.0"}}  # a deployment by the previous release
    message = refused(K8S, previous=before, preview=True)  # already at preview, before any step
    assert "error-tracking:sentry.filestore: this stack keeps uploaded files" in message
    assert "pulumi config set --path sentry.filestore filesystem" in message
    assert "Moving Sentry's files to S3" in message
    # saying where they are goes ahead
    kept = deploy({**K8S, "sentry": {**K8S["sentry"], "filestore": "filesystem"},
                   "kubernetes": {"sharedStorageClass": "nfs-rwx", **EDGE}}, previous=before)
    assert kept.outputs["deployed"]["filestore"] == "filesystem"


def on(settings_data: dict, capabilities: frozenset):
    problems = Problems()
    settings = parse_settings(Section(settings_data, "error-tracking:sentry", problems), problems)
    return dataclasses.replace(settings, capabilities=capabilities)


DOCKER, KUBERNETES = frozenset({spec.BUILDS_IMAGES, spec.SHARES_VOLUMES}), frozenset()


def test_what_the_last_deployment_recorded_decides_what_may_change():
    old = {"app": "sentry", "version": "26.8.0"}  # recorded nothing: files on sentry-data, payloads in Postgres
    assert storage.change_problems(old, on({}, DOCKER)) == []  # payloads move to S3 by themselves
    assert storage.change_problems(old, on({}, KUBERNETES))  # files would be stranded
    assert storage.change_problems({**old, "filestore": "s3"}, on({}, KUBERNETES)) == []
    assert storage.change_problems(old, on({"filestore": "s3"}, KUBERNETES)) == []  # copied, and said so
    assert storage.change_problems({"app": "glitchtip", "version": "6.2.6"}, on({}, KUBERNETES)) == []
    (back,) = storage.change_problems({**old, "nodestore": "s3"}, on({"nodestore": "postgres"}, DOCKER))
    assert back.startswith("error-tracking:sentry.nodestore: this stack keeps event payloads in S3")


def test_payloads_never_go_back_from_s3_to_postgres_through_the_program():
    before = {"deployed": {"app": "sentry", "version": "26.8.0", "nodestore": "s3", "filestore": "filesystem"}}
    message = refused({**SENTRY, "sentry": {"nodestore": "postgres"}}, previous=before, preview=True)
    assert "error-tracking:sentry.nodestore: this stack keeps event payloads in S3" in message


def test_sizing_a_seaweedfs_that_nothing_uses_is_refused_by_name():
    sized = on({"nodestore": "postgres", "resources": {"seaweedfs": {"memoryMb": 512}}}, DOCKER)
    (problem,) = storage.problems(sized)
    assert problem.startswith("error-tracking:sentry.resources.seaweedfs: SeaweedFS is not deployed")
    assert storage.problems(on({"resources": {"seaweedfs": {"memoryMb": 512}}}, DOCKER)) == []  # payloads in it
    assert storage.problems(on({}, DOCKER)) == [] and on({}, DOCKER).sized == frozenset()
