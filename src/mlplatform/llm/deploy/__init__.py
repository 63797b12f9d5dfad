"""``mlp deploy llm``: an LLM on KServe with vLLM, rendered for AWS, Azure or GCP.

- ``spec``: ``LlmDeploySpec`` / ``LlmDeployOptions``, and ``check``: the options KServe
  v0.20 and the governance policies accept, the model URI KServe downloads from, and the
  GPU pool, picked and capacity-checked (``CapacityError``) before anything is rendered;
- ``placement``: the pool's node selector and tolerations of exactly its nodes' taints;
- ``render``: pure, spec -> ``LLMInferenceService`` (default) or an InferenceService on
  KServe's vLLM runtime (``kind="inferenceservice"``), and a PodMonitor for vLLM's metrics.

YAML and JSON output are the predictive deployer's (``mlplatform.serving.deploy``).
See docs/llm.md.
"""

from __future__ import annotations

from mlplatform.llm.deploy.render import render
from mlplatform.llm.deploy.spec import KINDS, LlmDeployOptions, LlmDeploySpec, check
from mlplatform.serving.deploy.render import to_json, to_yaml

__all__ = ["KINDS", "LlmDeployOptions", "LlmDeploySpec", "check", "render", "to_json", "to_yaml"]
