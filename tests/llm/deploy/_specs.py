"""Specs the LLM render tests share: a catalog model, served on one cloud as one kind."""

from __future__ import annotations

import dataclasses
from typing import Any

from mlplatform.governance.check import Approval, VersionFacts
from mlplatform.llm.catalog import CATALOG
from mlplatform.llm.deploy import LlmCanary, LlmDeployOptions, LlmDeploySpec

RUN = "6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5"
CANARY_RUN = "0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e"
CLOUDS = ("aws", "azure", "gcp")
KINDS = ("llminferenceservice", "inferenceservice")


APPROVAL = Approval(1, "approved", "ada", "2026-08-01T10:00:00+00:00", "CHG-1042", "eval ok")


def governed(
    version: int = 3, model: str = "tinyllama-1.1b", run: str = RUN, **changes: Any
) -> VersionFacts:
    """A governed registry version: semver 1.<version>.0, owner, author alice, gate passed,
    approved by ada under CHG-1042 (what production asks); ``changes`` replace fields."""
    base = VersionFacts(
        name=model, version=version, semver=f"1.{version}.0", owner="ml-team", author="alice",
        run_id=run, stage="production", gate="passed", approvals=(APPROVAL,),
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def unapproved(version: int = 3) -> VersionFacts:
    """A governed version nobody approved."""
    return governed(version, approvals=(), stage="staging")


def canary(version: int = 4, percent: int = 10, model: str = "tinyllama-1.1b") -> LlmCanary:
    """Version ``version`` of the same LLM as challenger, with ``percent`` of the traffic."""
    return LlmCanary(
        CATALOG[model], version, percent, "challenger", CANARY_RUN, "1",
        facts=governed(version, model, CANARY_RUN),
    )  # fmt: skip


def spec(
    cloud: str = "gcp",
    kind: str = "llminferenceservice",
    model: str = "tinyllama-1.1b",
    *,
    uri: str | None = None,
    canaries: tuple[LlmCanary, ...] = (),
    facts: VersionFacts | str | None = "approved",
    **options: Any,
) -> LlmDeploySpec:
    """Version 3 of ``model`` as champion; ``facts``: its registry facts ("approved": a
    governed, approved version; None: none, as a catalog key)."""
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
        facts=governed(3, model) if facts == "approved" else facts,  # type: ignore[arg-type]
    )
