"""The catalog of LLMs the platform knows how to serve: the design's three models.

Each entry carries what the capacity check and the renderer need: where the weights are
(an ``hf://org/name@revision`` URI pinned to a 40-hex commit), the served name, and the
shape figures from the checkpoint's ``config.json`` that size the weights and the KV cache.

Sources (read while writing this; nothing is downloaded at run time):

- TinyLlama/TinyLlama-1.1B-Chat-v1.0: ``config.json`` (LlamaForCausalLM, hidden 2048,
  intermediate 5632, 22 layers, 32 heads, 4 KV heads so head dim 2048/32 = 64, 2048
  positions, vocab 32000, untied embeddings, bfloat16). Revision
  ``fe8a4ea1ffedaf415f4da2f062534de366a451e6`` is the ``sha`` the Hub API reports for the
  repository (last modified 2024-03-17), also seen as the snapshot folder of many
  Hugging Face caches.
- mistralai/Mistral-7B-Instruct-v0.2: ``config.json`` (MistralForCausalLM, hidden 4096,
  intermediate 14336, 32 layers, 32 heads, 8 KV heads, head dim 128, 32768 positions, no
  sliding window, vocab 32000, untied, bfloat16). Revision
  ``63a8b081895390a26e140280378bc85ec8bce07a`` is the commit that projects pin and that
  Hugging Face cache snapshots show. The repository is gated: the serving pod needs an
  ``HF_TOKEN`` of an account that accepted its terms.
- codellama/CodeLlama-7b-Instruct-hf: ``config.json`` (LlamaForCausalLM, hidden 4096,
  intermediate 11008, 32 layers, 32 heads and 32 KV heads (no grouped-query attention),
  head dim 128, 16384 positions, vocab 32016, untied, bfloat16, transformers 4.38.2).
  Revision ``22cb240e0292b0b5ab4c17ccd97aa3a2f799cbed`` is the snapshot folder that several
  independent Hugging Face caches hold for this repository (the most recent one seen).

Parameter counts are computed from those shapes (embeddings + lm_head + per layer the
attention and MLP projections and two norms + the final norm); tests/llm/test_catalog.py
recomputes them. They match the model cards: 1.1B, 7.24B and 6.74B.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mlplatform.errors import ConfigError

__all__ = ["CATALOG", "DTYPE_BYTES", "CatalogModel", "lookup"]

DTYPE_BYTES: Mapping[str, int] = MappingProxyType(
    {"float32": 4, "float16": 2, "bfloat16": 2, "fp8": 1}
)

_PINNED_HF = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)@(?P<revision>[0-9a-f]{40})$")


@dataclass(frozen=True)
class CatalogModel:
    """An LLM the platform can serve, with the figures that size it in GPU memory."""

    key: str
    uri: str
    served_name: str
    architecture: str
    parameters: int
    dtype: str
    context_length: int
    num_layers: int
    num_kv_heads: int
    head_dim: int

    @property
    def dtype_bytes(self) -> int:
        """Bytes per weight in the checkpoint's dtype."""
        return DTYPE_BYTES[self.dtype]

    @property
    def repo_id(self) -> str:
        """``org/name`` of an ``hf://`` URI (empty for other schemes)."""
        match = _PINNED_HF.match(self.uri)
        return match["repo"] if match else ""

    @property
    def revision(self) -> str:
        """The pinned 40-hex commit of an ``hf://`` URI (empty for other schemes)."""
        match = _PINNED_HF.match(self.uri)
        return match["revision"] if match else ""


CATALOG: Mapping[str, CatalogModel] = MappingProxyType(
    {
        m.key: m
        for m in (
            CatalogModel(
                key="tinyllama-1.1b",
                uri="hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0@fe8a4ea1ffedaf415f4da2f062534de366a451e6",
                served_name="tinyllama-1.1b-chat",
                architecture="LlamaForCausalLM",
                parameters=1_100_048_384,
                dtype="bfloat16",
                context_length=2048,
                num_layers=22,
                num_kv_heads=4,
                head_dim=64,
            ),
            CatalogModel(
                key="mistral-7b-instruct",
                uri="hf://mistralai/Mistral-7B-Instruct-v0.2@63a8b081895390a26e140280378bc85ec8bce07a",
                served_name="mistral-7b-instruct",
                architecture="MistralForCausalLM",
                parameters=7_241_732_096,
                dtype="bfloat16",
                context_length=32768,
                num_layers=32,
                num_kv_heads=8,
                head_dim=128,
            ),
            CatalogModel(
                key="codellama-7b-instruct",
                uri="hf://codellama/CodeLlama-7b-Instruct-hf@22cb240e0292b0b5ab4c17ccd97aa3a2f799cbed",
                served_name="codellama-7b-instruct",
                architecture="LlamaForCausalLM",
                parameters=6_738_546_688,
                dtype="bfloat16",
                context_length=16384,
                num_layers=32,
                num_kv_heads=32,
                head_dim=128,
            ),
        )
    }
)


def lookup(key: str) -> CatalogModel:
    """The catalog entry ``key``.

    Raises:
        ConfigError: no such entry; the message lists the keys there are.
    """
    try:
        return CATALOG[key]
    except KeyError:
        keys = ", ".join(sorted(CATALOG))
        raise ConfigError(
            f"No model {key!r} in the LLM catalog.",
            f"Use one of: {keys} (for example --catalog tinyllama-1.1b).",
        ) from None
