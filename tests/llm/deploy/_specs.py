"""Specs the LLM render tests share: a catalog model, served on one cloud as one kind."""

from __future__ import annotations

import dataclasses
from typing import Any

from mlplatform.llm.catalog import CATALOG
from mlplatform.llm.deploy import LlmCanary, LlmDeployOptions, LlmDeploySpec

RUN = "6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5"
CANARY_RUN = "0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e"
CLOUDS = ("aws", "azure", "gcp")
KINDS = ("llminferenceservice", "inferenceservice")


def canary(version: int = 4, percent: int = 10, model: str = "tinyllama-1.1b") -> LlmCanary:
    """Version ``version`` of the same LLM as challenger, with ``percent`` of the traffic."""
    return LlmCanary(CATALOG[model], version, percent, "challenger", CANARY_RUN, "1")


def spec(
    cloud: str = "gcp",
    kind: str = "llminferenceservice",
    model: str = "tinyllama-1.1b",
    *,
    uri: str | None = None,
    canaries: tuple[LlmCanary, ...] = (),
    **options: Any,
) -> LlmDeploySpec:
    entry = CATALOG[model]
    if uri:
        entry = dataclasses.replace(entry, uri=uri)
    base = LlmDeployOptions(cloud=cloud, kind=kind, owner="ml-team", concurrency=8)
    return LlmDeploySpec(
        entry,
        dataclasses.replace(base, **options),
        registered=model,
        version=3,
        alias="champion",
        run_id=RUN,
        experiment_id="1",
        canaries=canaries,
    )
