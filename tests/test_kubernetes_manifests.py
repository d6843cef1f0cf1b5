"""The Kubernetes manifests render (kustomize subset, offline) and every object validates against the Kubernetes
schemas that kubernetes-validate ships, strictly (an unknown or misspelled field fails)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from govbot.config import ENV_NAMES, Settings
from tests.kustomize_lite import Unsupported, render, split_image, strategic_merge

ROOT = Path(__file__).resolve().parent.parent
KUBE = ROOT / "manifests" / "kubernetes"
OVERLAY = KUBE / "overlays" / "example"
SECRET_EXAMPLE = OVERLAY / "secret.example.yaml"
# The oldest Kubernetes minor we document support for, and the newest schemas the package ships.
KUBERNETES_VERSIONS = ["1.29", kubernetes_validate.utils.latest_version()]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render(OVERLAY)


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [obj for obj in by_kind(objects, kind) if obj["metadata"]["name"] == name]
    return found


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_validates_against_the_kubernetes_schemas(objects, version):
    assert len(objects) == 8
    for obj in objects + [yaml.safe_load(SECRET_EXAMPLE.read_text())]:
        kubernetes_validate.validate(obj, version, strict=True)  # raises naming the bad field


def test_the_overlay_holds_what_a_deployment_needs(objects):
    kinds = sorted(f"{obj['kind']}/{obj['metadata']['name']}" for obj in objects)
    assert kinds == [
        "ConfigMap/govbot", "Deployment/govbot-scheduler", "Deployment/govbot-web", "Ingress/govbot-web",
        "Job/govbot-migrate", "PodDisruptionBudget/govbot-scheduler", "PodDisruptionBudget/govbot-web",
        "Service/govbot-web",
    ]
    for obj in objects:
        assert obj["metadata"]["namespace"] == "govbot"
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == "govbot"
    web = one(objects, "Deployment", "govbot-web")
    scheduler = one(objects, "Deployment", "govbot-scheduler")
    migrate = one(objects, "Job", "govbot-migrate")
    assert web["spec"]["replicas"] == 2 and scheduler["spec"]["replicas"] == 2
    assert pod_spec(web)["containers"][0]["args"] == ["serve", "--no-scheduler"]
    assert pod_spec(scheduler)["containers"][0]["args"] == ["scheduler"]
    assert pod_spec(migrate)["containers"][0]["args"] == ["db", "upgrade"]
    assert migrate["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
    assert one(objects, "ConfigMap", "govbot")["metadata"]["labels"]["app.kubernetes.io/component"] == "config"


def test_every_container_is_locked_down(objects):
    for workload in by_kind(objects, "Deployment") + by_kind(objects, "Job"):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["automountServiceAccountToken"] is False
        mounts_tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"]:
            assert container["image"] == "registry.example.com/platform/govbot:0.1.0"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
            # The image writes only under /tmp (HOME, matplotlib's cache): it must be a writable emptyDir.
            assert any(m["mountPath"] == "/tmp" and m["name"] in mounts_tmp for m in container["volumeMounts"])
            assert {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]} == {
                "govbot"}


def test_web_probes_point_at_endpoints_the_server_has(objects):
    from govbot.adapters.slack.server import create_web_app

    web = one(objects, "Deployment", "govbot-web")
    container = pod_spec(web)["containers"][0]
    paths = {container["readinessProbe"]["httpGet"]["path"], container["livenessProbe"]["httpGet"]["path"]}
    port_names = {port["name"] for port in container["ports"]}
    assert {container["readinessProbe"]["httpGet"]["port"], container["livenessProbe"]["httpGet"]["port"]} <= \
        port_names

    web_app = create_web_app(settings=Settings(SLACK_SIGNING_SECRET="s" * 20), engine=None, bolt_app=None)  # type: ignore[arg-type]
    routes = {route.path for route in web_app.routes}
    assert paths <= routes


def test_service_pdb_and_ingress_select_what_exists(objects):
    web = one(objects, "Deployment", "govbot-web")
    scheduler = one(objects, "Deployment", "govbot-scheduler")
    service = one(objects, "Service", "govbot-web")
    web_labels = web["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= web_labels.items()
    assert web["spec"]["selector"]["matchLabels"].items() <= web_labels.items()
    # The Service must not also select scheduler pods.
    assert not service["spec"]["selector"].items() <= scheduler["spec"]["template"]["metadata"]["labels"].items()
    for pdb, workload in ((one(objects, "PodDisruptionBudget", "govbot-web"), web),
                          (one(objects, "PodDisruptionBudget", "govbot-scheduler"), scheduler)):
        assert pdb["spec"]["selector"]["matchLabels"].items() <= workload["spec"]["template"]["metadata"][
            "labels"].items()
    ingress = one(objects, "Ingress", "govbot-web")
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/slack/events"
    assert path["backend"]["service"]["name"] == service["metadata"]["name"]
    assert path["backend"]["service"]["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    target = service["spec"]["ports"][0]["targetPort"]
    assert target in {p["name"] for p in pod_spec(web)["containers"][0]["ports"]}


def test_settings_are_split_into_plain_and_secret_by_name_only(objects):
    config = one(objects, "ConfigMap", "govbot")
    secret = yaml.safe_load(SECRET_EXAMPLE.read_text())
    secret_names = {ENV_NAMES[name] for name, field in Settings.model_fields.items()
                    if "SecretStr" in str(field.annotation)} | {"DATABASE_URL"}
    assert set(secret["stringData"]) == secret_names
    assert all(value == "" for value in secret["stringData"].values())  # an example: names, never values
    assert not set(config["data"]) & secret_names
    assert set(config["data"]) <= set(ENV_NAMES.values())
    # The example Secret is not part of the kustomization: applying the overlay never blanks a real one.
    assert all(obj["kind"] != "Secret" for obj in objects)


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(Unsupported):
        render(tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "resources: []\npatches:\n  - path: p.yaml\n    target: {kind: Deployment}\n")
    with pytest.raises(Unsupported):
        render(tmp_path)


def test_the_renderer_merges_like_kustomize():
    base = {"spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]}],
                     "replicas": 2, "keep": True}}
    patch = {"spec": {"containers": [{"name": "a", "env": [{"name": "B", "value": "2"}]}], "replicas": 3,
                      "keep": None}}
    assert strategic_merge(base, patch) == {"spec": {"containers": [
        {"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}],
        "replicas": 3}}
    assert split_image("registry:5000/team/govbot:1.2@sha256:ab") == ("registry:5000/team/govbot", "1.2",
                                                                      "sha256:ab")
    assert split_image("registry:5000/govbot") == ("registry:5000/govbot", None, None)


def test_scheduler_probes_point_at_endpoints_the_scheduler_serves(objects):
    from govbot.adapters.scheduler.health import create_health_app

    container = pod_spec(one(objects, "Deployment", "govbot-scheduler"))["containers"][0]
    paths = {container["readinessProbe"]["httpGet"]["path"], container["livenessProbe"]["httpGet"]["path"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    routes = {route.path for route in create_health_app(None).routes}  # type: ignore[arg-type]
    assert paths <= routes and "/metrics" in routes
    assert one(objects, "ConfigMap", "govbot")["data"]["GOVBOT_FAILOVER_SECONDS"] == "30"
