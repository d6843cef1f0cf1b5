"""A small kustomize renderer for the subset of kustomize that `manifests/kubernetes/` uses, so the manifests are
rendered and validated offline without a kustomize binary.

Supported, with kustomize's meaning: ``resources`` (files, and folders holding a kustomization), ``namespace``,
``labels`` (``pairs`` with ``includeSelectors`` / ``includeTemplates``), ``images`` (``newName``, ``newTag``,
``digest``) and ``patches`` given as strategic-merge patches (``path`` or inline ``patch``, the target named by
the patch's own kind and name). Any other field — or a patch with a ``target`` — raises ``Unsupported``, so a
manifest change that needs real kustomize fails here loudly instead of being rendered wrongly.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass",
                  "StorageClass", "PersistentVolume", "IngressClass"}
POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# Where includeSelectors puts the labels, besides metadata.labels.
SELECTOR_PATHS = {
    "Service": [("spec", "selector")],
    "Deployment": [("spec", "selector", "matchLabels")],
    "StatefulSet": [("spec", "selector", "matchLabels")],
    "DaemonSet": [("spec", "selector", "matchLabels")],
    "ReplicaSet": [("spec", "selector", "matchLabels")],
    "PodDisruptionBudget": [("spec", "selector", "matchLabels")],
}


class Unsupported(Exception):
    """The kustomization uses something this renderer does not implement."""


def render(folder: Path) -> list[dict[str, Any]]:
    """The objects the kustomization in ``folder`` produces, in order."""
    kustomization = _load_kustomization(folder)
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise Unsupported(f"{folder}: kustomization fields not supported here: {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    _check_unique(objects, folder)
    for patch in kustomization.get("patches", []):
        _apply_patch(objects, patch, folder)
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
    for label_set in kustomization.get("labels", []):
        _apply_labels(objects, label_set)
    for image in kustomization.get("images", []):
        _apply_image(objects, image)
    return objects


def _load_kustomization(folder: Path) -> dict[str, Any]:
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return yaml.safe_load((folder / name).read_text()) or {}
    raise FileNotFoundError(f"no kustomization file in {folder}")


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["apiVersion"], obj["kind"], obj["metadata"]["name"]


def _check_unique(objects: list[dict[str, Any]], folder: Path) -> None:
    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        identity = _identity(obj)
        if identity in seen:
            raise ValueError(f"{folder}: {identity} is listed twice (kustomize refuses that)")
        seen.add(identity)


def _apply_patch(objects: list[dict[str, Any]], patch: dict[str, Any], folder: Path) -> None:
    if set(patch) - {"path", "patch"}:
        raise Unsupported(f"{folder}: only strategic-merge patches by path or inline are supported: {patch}")
    text = (folder / patch["path"]).read_text() if "path" in patch else patch["patch"]
    for document in yaml.safe_load_all(text):
        if not document:
            continue
        target = [obj for obj in objects if obj["kind"] == document["kind"]
                  and obj["metadata"]["name"] == document["metadata"]["name"]]
        if len(target) != 1:
            raise ValueError(f"{folder}: patch for {document['kind']}/{document['metadata']['name']} matches "
                             f"{len(target)} objects")
        merged = strategic_merge(target[0], document)
        target[0].clear()
        target[0].update(merged)


def strategic_merge(base: Any, patch: Any) -> Any:
    """Maps merge key by key (a null deletes), lists of named maps merge by name, other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        if "$patch" in patch:
            raise Unsupported("$patch directives are not supported here")
        result = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = strategic_merge(result[key], value)
            else:
                result[key] = copy.deepcopy(value)
        return result
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        result = copy.deepcopy(base)
        for item in patch:
            index = next((i for i, old in enumerate(result) if old["name"] == item["name"]), None)
            if index is None:
                result.append(copy.deepcopy(item))
            else:
                result[index] = strategic_merge(result[index], item)
        return result
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def _dig(obj: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = obj
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def _apply_labels(objects: list[dict[str, Any]], label_set: dict[str, Any]) -> None:
    if set(label_set) - {"pairs", "includeSelectors", "includeTemplates"}:
        raise Unsupported(f"labels fields not supported here: {label_set}")
    pairs = label_set.get("pairs", {})
    with_selectors = label_set.get("includeSelectors", False)
    with_templates = label_set.get("includeTemplates", False) or with_selectors
    for obj in objects:
        obj.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if with_templates and obj["kind"] in POD_TEMPLATE_PATHS:
            template = _dig(obj, POD_TEMPLATE_PATHS[obj["kind"]])
            if template is not None:
                template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if with_selectors:
            for path in SELECTOR_PATHS.get(obj["kind"], []):
                selector = _dig(obj, path)
                if selector is not None:
                    selector.update(pairs)


def _apply_image(objects: list[dict[str, Any]], image: dict[str, Any]) -> None:
    if set(image) - {"name", "newName", "newTag", "digest"}:
        raise Unsupported(f"images fields not supported here: {image}")
    for obj in objects:
        template = _dig(obj, POD_TEMPLATE_PATHS.get(obj["kind"], ("-",)))
        spec = template.get("spec", {}) if template else {}
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            name, tag, digest = split_image(container["image"])
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{name}@{image['digest']}"
            else:
                tag = image.get("newTag", tag)
                container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def split_image(reference: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference; a registry port is not mistaken for a tag."""
    rest, _, digest = reference.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1:], digest or None
    return rest, None, digest or None
