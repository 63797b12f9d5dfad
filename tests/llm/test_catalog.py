"""The LLM catalog: pinned weights, shapes that add up to the published parameter counts."""

from __future__ import annotations

import re

import pytest

from mlplatform.errors import ConfigError
from mlplatform.llm import capacity, catalog, gpus
from mlplatform.llm.catalog import CATALOG, lookup
from mlplatform.llm.gpus import GPU_TYPES, POOLS, serving_dtype

# config.json of each checkpoint: hidden, intermediate, vocab, attention heads.
SHAPES = {
    "tinyllama-1.1b": (2048, 5632, 32000, 32),
    "mistral-7b-instruct": (4096, 14336, 32000, 32),
    "codellama-7b-instruct": (4096, 11008, 32016, 32),
}


def test_public_api_is_pinned() -> None:
    assert catalog.__all__ == ["CATALOG", "DTYPE_BYTES", "CatalogModel", "lookup"]
    assert set(gpus.__all__) >= {"GPU_TYPES", "POOLS", "GpuPool", "GpuType"}
    assert set(capacity.__all__) >= {"CapacityReport", "check", "kv_cache_bytes", "pick_pool"}


def test_the_catalog_holds_the_designs_three_models() -> None:
    assert set(CATALOG) == set(SHAPES)


@pytest.mark.parametrize("key", sorted(SHAPES))
def test_weights_are_pinned_to_a_commit(key: str) -> None:
    model = lookup(key)

    assert re.fullmatch(r"hf://[\w.-]+/[\w.-]+@[0-9a-f]{40}", model.uri)
    assert model.uri == f"hf://{model.repo_id}@{model.revision}"


@pytest.mark.parametrize("key", sorted(SHAPES))
def test_parameter_count_follows_from_the_checkpoint_shapes(key: str) -> None:
    # GIVEN a Llama-style decoder with untied embeddings
    model = lookup(key)
    hidden, intermediate, vocab, heads = SHAPES[key]
    kv_width = model.num_kv_heads * model.head_dim

    # WHEN its weights are counted matrix by matrix
    attention = 2 * hidden * hidden + 2 * hidden * kv_width
    per_layer = attention + 3 * hidden * intermediate + 2 * hidden
    total = 2 * vocab * hidden + model.num_layers * per_layer + hidden

    # THEN the catalog's count is that sum and the head dim divides the hidden size
    assert model.parameters == total
    assert model.head_dim * heads == hidden


def test_shapes_are_those_of_the_published_configs() -> None:
    shapes = {
        key: (m.num_layers, m.num_kv_heads, m.head_dim, m.context_length)
        for key, m in CATALOG.items()
    }
    assert shapes == {
        "tinyllama-1.1b": (22, 4, 64, 2048),
        "mistral-7b-instruct": (32, 8, 128, 32768),
        "codellama-7b-instruct": (32, 32, 128, 16384),
    }
    assert round(lookup("mistral-7b-instruct").parameters / 1e9, 2) == 7.24
    assert round(lookup("codellama-7b-instruct").parameters / 1e9, 2) == 6.74


def test_an_unknown_key_is_refused_with_the_keys_there_are() -> None:
    with pytest.raises(ConfigError) as caught:
        lookup("llama-70b")

    assert "llama-70b" in caught.value.headline
    for key in CATALOG:
        assert key in caught.value.hint


def test_every_cloud_has_a_t4_pool_and_a_24_gb_pool() -> None:
    assert set(POOLS) == {"aws", "azure", "gcp"}
    for pools in POOLS.values():
        sizes = sorted({pool.gpu.marketed_gb for pool in pools})
        assert sizes == [16, 24]  # AWS offers two 24 GB cards (A10G, L4) in one Karpenter pool
        assert all(pool.node_selector for pool in pools)


def test_bfloat16_checkpoints_are_served_as_float16_on_a_t4() -> None:
    assert serving_dtype("bfloat16", GPU_TYPES["nvidia-tesla-t4"]) == "float16"
    assert serving_dtype("bfloat16", GPU_TYPES["nvidia-l4"]) == "bfloat16"
    assert serving_dtype("float16", GPU_TYPES["nvidia-tesla-t4"]) == "float16"
