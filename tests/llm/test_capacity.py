"""The capacity check: weights + KV cache + reserve against GPU memory * utilization.

Expected figures are computed here from the formula and the catalog's shapes, not copied
from the module's output.
"""

from __future__ import annotations

import pytest

from mlplatform.errors import CapacityError, ConfigError
from mlplatform.llm.capacity import (
    GIB,
    RESERVE_GIB,
    check,
    kv_cache_bytes,
    largest_max_model_len,
    pick_pool,
)
from mlplatform.llm.catalog import CatalogModel, lookup
from mlplatform.llm.gpus import GPU_TYPES, POOLS, GpuType

T4 = GPU_TYPES["nvidia-tesla-t4"]
A10G = GPU_TYPES["nvidia-a10g"]
TWENTY_FOUR_GB = [g for g in GPU_TYPES.values() if g.marketed_gb == 24]
TINYLLAMA = lookup("tinyllama-1.1b")
MISTRAL = lookup("mistral-7b-instruct")


def kv_gib(model: CatalogModel, tokens: int) -> float:
    per_token = 2 * model.num_layers * model.num_kv_heads * model.head_dim * 2
    return per_token * tokens / GIB


def needed_gib(model: CatalogModel, tokens: int) -> float:
    return model.parameters * 2 / GIB + kv_gib(model, tokens) + RESERVE_GIB


def available_gib(gpu: GpuType, utilization: float = 0.9) -> float:
    return gpu.memory_gib * utilization


def test_kv_cache_is_two_tensors_per_layer_per_token() -> None:
    # 2 * 32 layers * 8 KV heads * 128 * 2 bytes = 128 KiB a token; 8k tokens * 8 = 8 GiB
    assert kv_cache_bytes(MISTRAL, 8192, 8) == 2 * 32 * 8 * 128 * 2 * 8192 * 8 == 8 * GIB
    assert kv_cache_bytes(MISTRAL, 8192, 8, dtype_bytes=1) == 4 * GIB


def test_tinyllama_fits_a_t4_with_a_useful_kv_cache() -> None:
    report = check(TINYLLAMA, T4, max_model_len=2048, concurrency=16)

    assert report.fits
    assert report.needed_gib == pytest.approx(needed_gib(TINYLLAMA, 2048 * 16))
    assert report.available_gib == pytest.approx(available_gib(T4))
    # the room left for KV cache holds over a hundred full-context sequences
    room = available_gib(T4) - TINYLLAMA.parameters * 2 / GIB - RESERVE_GIB
    assert room / kv_gib(TINYLLAMA, 2048) > 100
    assert largest_max_model_len(TINYLLAMA, T4, concurrency=100) == 2048


def test_mistral_at_8k_times_8_does_not_fit_a_t4_and_says_why() -> None:
    # GIVEN Mistral-7B with 8192 tokens for 8 sequences on a T4
    needed, available = needed_gib(MISTRAL, 8192 * 8), available_gib(T4)
    assert needed > available

    # WHEN it is checked
    with pytest.raises(CapacityError) as caught:
        check(MISTRAL, T4, max_model_len=8192, concurrency=8)

    # THEN the error has the numbers, and a 24 GB class with the context that fits there
    error = caught.value
    assert isinstance(error, ConfigError)
    assert f"{needed:.2f} GiB" in error.headline
    assert f"{available:.2f} GiB" in error.headline
    length = largest_max_model_len(MISTRAL, A10G, concurrency=8)
    assert f"--max-model-len {length} with 8 sequences" in error.hint
    for gpu in TWENTY_FOUR_GB:
        assert gpu.name in error.hint
    assert "weights" in error.details
    assert "KV cache" in error.details


def test_the_suggested_context_fits_and_is_the_largest_that_does() -> None:
    for gpu in TWENTY_FOUR_GB:
        length = largest_max_model_len(MISTRAL, gpu, concurrency=8)
        assert 4096 <= length < 8192

        assert check(MISTRAL, gpu, max_model_len=length, concurrency=8).fits
        with pytest.raises(CapacityError):
            check(MISTRAL, gpu, max_model_len=length + 256, concurrency=8)


def test_mistral_fits_a_24_gb_class_with_a_reduced_context() -> None:
    assert needed_gib(MISTRAL, 4096 * 8) <= available_gib(A10G) < needed_gib(MISTRAL, 8192 * 8)
    for gpu in TWENTY_FOUR_GB:
        assert check(MISTRAL, gpu, max_model_len=4096, concurrency=8).fits


def test_on_a_24_gb_class_the_hint_offers_fewer_sequences_that_fit() -> None:
    room = available_gib(A10G) - MISTRAL.parameters * 2 / GIB - RESERVE_GIB
    sequences = int(room // kv_gib(MISTRAL, 8192))

    with pytest.raises(CapacityError) as caught:
        check(MISTRAL, A10G, max_model_len=8192, concurrency=8)

    assert f"{sequences} concurrent sequences at --max-model-len 8192" in caught.value.hint
    assert check(MISTRAL, A10G, max_model_len=8192, concurrency=sequences).fits


def test_two_t4s_hold_what_one_cannot() -> None:
    report = check(MISTRAL, T4, max_model_len=8192, concurrency=8, gpus=2)

    assert report.fits
    assert report.available_gib == pytest.approx(2 * available_gib(T4))


@pytest.mark.parametrize("cloud", sorted(POOLS))
def test_pick_pool_takes_the_t4_for_tinyllama_and_24_gb_for_mistral(cloud: str) -> None:
    small = pick_pool(TINYLLAMA, cloud, max_model_len=2048, concurrency=16)
    large = pick_pool(MISTRAL, cloud, max_model_len=4096, concurrency=8)

    assert small.gpu == T4
    assert large.gpu.marketed_gb == 24
    assert large in POOLS[cloud]


def test_pick_pool_refuses_when_no_pool_of_the_cloud_fits() -> None:
    with pytest.raises(CapacityError, match="No GPU pool on gcp fits mistral-7b-instruct"):
        pick_pool(MISTRAL, "gcp", max_model_len=8192, concurrency=8)


def test_pick_pool_refuses_an_unknown_cloud() -> None:
    with pytest.raises(ConfigError, match="Unknown cloud 'ibm'") as caught:
        pick_pool(TINYLLAMA, "ibm", max_model_len=2048, concurrency=1)
    assert "aws" in caught.value.hint


def test_a_context_past_the_models_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"outside 1\.\.2048"):
        check(TINYLLAMA, T4, max_model_len=4096, concurrency=1)


def test_weights_that_fill_the_card_leave_nothing_to_suggest_on_it() -> None:
    with pytest.raises(CapacityError) as caught:
        check(MISTRAL, T4, max_model_len=256, concurrency=1)

    assert f"on {T4.name}" not in caught.value.hint
    assert A10G.name in caught.value.hint


def test_explain_shows_each_term() -> None:
    text = check(TINYLLAMA, T4, max_model_len=2048, concurrency=16).explain()

    assert "fits" in text
    assert f"{kv_gib(TINYLLAMA, 2048 * 16):.2f} GiB" in text
    assert "2048 tokens x 16 sequences" in text
