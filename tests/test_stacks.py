"""The shipped stack files are valid configurations: dev runs on Docker, prod on Kubernetes."""

from pathlib import Path

import yaml

from components import configuration

ROOT = Path(__file__).resolve().parents[1]


def load_stack(name):
    config = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())["config"]
    return configuration.load({key.split(":", 1)[1]: value for key, value in config.items()})


def test_dev_is_glitchtip_on_the_local_docker_engine_bound_to_loopback():
    dev = load_stack("dev")
    assert (dev.app, dev.platform) == ("glitchtip", "docker")
    assert dev.platform_settings.host == "unix:///var/run/docker.sock"
    assert dev.platform_settings.bind_address == "127.0.0.1"


def test_prod_is_glitchtip_on_kubernetes_with_tls_and_dsn_secrets():
    prod = load_stack("prod")
    assert (prod.app, prod.platform) == ("glitchtip", "kubernetes")
    assert prod.url.startswith("https://")
    assert prod.platform_settings.ingress.cluster_issuer == "letsencrypt-prod"
    assert prod.dsn_targets and all(t.kind == "kubernetesSecret" for t in prod.dsn_targets)
    assert prod.protect is True


def test_the_project_is_named_error_tracking():
    assert yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"] == "error-tracking"
