"""The cluster's feature store in the predictors of versions trained on a feature service.

A version tagged ``mlplatform.feature_service`` (``VariantSpec.feature_service``, read from
the registry by ``resolve``) takes requests with only its entity keys: its model server fetches
the rest from the online store (``mlplatform.serving.enrich``). In the cluster that server
serves KServe's copy of the version (a folder, without the registry's tags), so its predictor
gets:

- ``--feature-service NAME``: the tag, as a model argument (KServe appends it to the runtime's);
- the platform-config chart's ``mlplatform-feature-store`` ConfigMap (the cluster's
  ``feature_store.yaml``, the feature server's own) mounted read-only, and
  ``MLPLATFORM_FEATURE_STORE`` naming the file;
- the Secret of the same name as its environment (``envFrom``): the database variables the
  file references;
- the pod label ``mlplatform.io/feature-store: "true"``, which the NetworkPolicy
  ``allow-feature-store-egress`` (kserve) lets reach the managed PostgreSQL.

Versions without the tag get none of it: their pods hold no database credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplatform.features.layout import CONFIG_ENV

if TYPE_CHECKING:
    from mlplatform.serving.deploy.render import VariantSpec

__all__ = [
    "CONFIG_FILE",
    "LABEL",
    "NAME",
    "args",
    "env",
    "env_from",
    "labels",
    "mounts",
    "volumes",
]

Doc = dict[str, Any]

NAME = "mlplatform-feature-store"  # the ConfigMap and the Secret (platform-config chart)
VOLUME = "feature-store"
MOUNT_DIR = "/etc/mlplatform/feature-store"
CONFIG_KEY = "feature_store.yaml"
CONFIG_FILE = f"{MOUNT_DIR}/{CONFIG_KEY}"
LABEL = ("mlplatform.io/feature-store", "true")


def args(variant: VariantSpec) -> list[str]:
    """The model server flag naming the version's feature service."""
    return ["--feature-service", variant.feature_service] if variant.feature_service else []


def env(variant: VariantSpec) -> list[Doc]:
    return [{"name": CONFIG_ENV, "value": CONFIG_FILE}] if variant.feature_service else []


def env_from(variant: VariantSpec) -> list[Doc]:
    if not variant.feature_service:
        return []
    return [{"secretRef": {"name": NAME, "optional": False}}]


def volumes(variant: VariantSpec) -> list[Doc]:
    if not variant.feature_service:
        return []
    items = [{"key": CONFIG_KEY, "path": CONFIG_KEY}]
    return [{"name": VOLUME, "configMap": {"name": NAME, "items": items, "defaultMode": 0o444}}]


def mounts(variant: VariantSpec) -> list[Doc]:
    if not variant.feature_service:
        return []
    return [{"name": VOLUME, "mountPath": MOUNT_DIR, "readOnly": True}]


def labels(variant: VariantSpec) -> dict[str, str]:
    return dict([LABEL]) if variant.feature_service else {}
