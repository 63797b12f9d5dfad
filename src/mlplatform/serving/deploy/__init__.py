"""``mlp deploy model`` and ``mlp undeploy model``: a registered model as a KServe
InferenceService on Kubernetes, and taking it down.

- ``render``: pure, ``DeploySpec`` -> ServingRuntime, InferenceService (Standard mode,
  ``spec.canary[]``), HTTPRoute (the traffic split), PodMonitor, and an HTTPScaledObject when
  it scales to zero; YAML and JSON;
- ``wake``: scale to zero through the KEDA HTTP add-on's interceptor;
- ``samples``: payload sampling flags and the samples store in the model's bucket;
- ``feature_store``: the cluster's feature store in the predictors of versions trained on a
  feature service (mount, variables, ``--feature-service``, the network label);
- ``storage``: a version's artifact location -> the cloud store URI KServe downloads from;
- ``clouds``: what differs per cloud (store, pod identity label);
- ``resolve``: a model reference and ``--canary ALIAS=PCT`` (both parsed by
  ``mlplatform.grammar``) -> ``DeploySpec`` via the registry;
- ``apply``: server-side apply with the ``kubernetes`` client (imported when used), and the
  listing and deleting that ``undeploy`` (and pruning after a deploy) need.

See docs/serving-kubernetes.md and ADR 0013.
"""

from __future__ import annotations

from mlplatform.serving.deploy.apply import Applier, KubernetesApplier, apply_all
from mlplatform.serving.deploy.clouds import CLOUDS
from mlplatform.serving.deploy.render import (
    DeployOptions,
    DeploySpec,
    Resources,
    VariantSpec,
    render,
    service_name,
    to_json,
    to_yaml,
)
from mlplatform.serving.deploy.resolve import parse_storage_uris, resolve
from mlplatform.serving.deploy.samples import samples_store
from mlplatform.serving.deploy.storage import storage_uri
from mlplatform.serving.deploy.undeploy import ObjectRef, planned, prune, undeploy

__all__ = [
    "CLOUDS",
    "Applier",
    "DeployOptions",
    "DeploySpec",
    "KubernetesApplier",
    "ObjectRef",
    "Resources",
    "VariantSpec",
    "apply_all",
    "parse_storage_uris",
    "planned",
    "prune",
    "render",
    "resolve",
    "samples_store",
    "service_name",
    "storage_uri",
    "to_json",
    "to_yaml",
    "undeploy",
]
