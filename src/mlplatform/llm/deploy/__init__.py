"""``mlp deploy llm`` and ``mlp undeploy llm``: LLMs on KServe with vLLM, rendered for AWS,
Azure or GCP, behind one OpenAI endpoint on the platform Gateway.

- ``spec``: ``LlmDeploySpec`` (a model identity: served name, weights URI, version, alias,
  run, shape; and its canaries, ``LlmCanary``) / ``LlmDeployOptions``, and ``check``: the
  options KServe v0.20 and the governance policies accept, the model URI KServe downloads
  from, and the GPU pool, picked and capacity-checked (``CapacityError``) before anything is
  rendered;
- ``identity``: a registered LLM version (``mlplatform.llm.registry``) or a catalog key -> spec;
- ``placement``: the pool's node selector and tolerations of exactly its nodes' taints;
- ``route``: the deployment's rule on the OpenAI endpoint (body's ``model`` -> header ->
  backend), weighted between versions (ADR 0014);
- ``scaling``: fixed replicas, KEDA on vLLM's queue and KV cache, scale to zero behind the
  KEDA HTTP add-on;
- ``render``: pure, spec -> one ``LLMInferenceService`` (default) or InferenceService on
  KServe's vLLM runtime per version, a PodMonitor, the HTTPRoute and the scalers;
- ``undeploy``: find, delete and prune a deployment's objects by label.

YAML and JSON output are the predictive deployer's (``mlplatform.serving.deploy``).
See docs/llm.md and docs/adr/0014-llm-openai-endpoint.md.
"""

from __future__ import annotations

from mlplatform.llm.deploy.render import render
from mlplatform.llm.deploy.spec import KINDS, LlmCanary, LlmDeployOptions, LlmDeploySpec, check
from mlplatform.llm.deploy.undeploy import planned, prune, undeploy
from mlplatform.serving.deploy.render import to_json, to_yaml

__all__ = [
    "KINDS",
    "LlmCanary",
    "LlmDeployOptions",
    "LlmDeploySpec",
    "check",
    "planned",
    "prune",
    "render",
    "to_json",
    "to_yaml",
    "undeploy",
]
