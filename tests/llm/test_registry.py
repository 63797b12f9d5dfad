"""LLMs in the registry on the local profile's store: a real MLflow on SQLite in tmp_path,
artifacts in the folder beside it. The team server with S3 artifacts is test_registry_team.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlplatform.errors import ConfigError, PromotionRejectedError, RegistryError
from mlplatform.llm import capacity
from mlplatform.llm.catalog import CATALOG
from mlplatform.llm.deploy import LlmDeployOptions, LlmDeploySpec, check
from mlplatform.llm.gpus import GPU_TYPES
from mlplatform.llm.registry import (
    EXPERIMENT,
    RegisteredLLM,
    list_llms,
    register_llm,
    resolve_llm,
)
from mlplatform.llm.sources import parse_source
from mlplatform.llm.weights import read_shape
from mlplatform.tracking import alias_history, promote, rollback

from ._fake_checkpoint import SHAPE, expected_parameters, fake_checkpoint

TINY = CATALOG["tinyllama-1.1b"]


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.getbasetemp() / "mlflow-template.db"
    if not path.exists():
        building = path.with_suffix(".building")
        MlflowClient(f"sqlite:///{building}").search_experiments()
        building.replace(path)
    return path


@pytest.fixture
def uri(mlflow_template, tmp_path) -> str:
    (tmp_path / "store").mkdir()
    shutil.copy(mlflow_template, tmp_path / "store" / "mlflow.db")
    return f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    return fake_checkpoint(tmp_path / "tiny-llama", shards=2)


def client(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def register(uri: str, text: str | None = None, **kwargs) -> RegisteredLLM:
    catalog = kwargs.pop("catalog", None)
    return register_llm(parse_source(text, catalog=catalog), tracking_uri=uri, **kwargs)


# ---- the shape of a checkpoint folder ----------------------------------------------------
def test_shape_comes_from_config_and_safetensors_headers(checkpoint):
    shape = read_shape(checkpoint)
    assert shape.architecture == "LlamaForCausalLM"
    assert shape.parameters == expected_parameters()  # both shards counted
    assert (shape.dtype, shape.context_length) == ("float32", SHAPE["max_position_embeddings"])
    assert (shape.num_layers, shape.num_kv_heads, shape.head_dim) == (2, 2, 4)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda f: (f / "config.json").unlink(), "has no config.json"),
        (lambda f: (f / "tokenizer.json").unlink(), "has no tokenizer"),
        (lambda f: (f / "model-00001-of-00002.safetensors").write_bytes(b"\xff" * 64), "not a"),
        (lambda f: (f / "config.json").write_text("{}"), "lacks a figure"),
    ],
)
def test_a_damaged_folder_is_refused_with_what_is_wrong(checkpoint, damage, says):
    damage(checkpoint)
    with pytest.raises(ConfigError, match=says):
        read_shape(checkpoint)


def test_pickled_weights_are_never_read(checkpoint):
    for shard in checkpoint.glob("*.safetensors"):
        shard.rename(shard.with_suffix(".bin"))
    with pytest.raises(ConfigError, match="only pickled ones") as err:
        read_shape(checkpoint)
    assert "safe_serialization=True" in err.value.hint


# ---- registering -------------------------------------------------------------------------
def test_a_local_folder_is_stored_and_its_version_carries_the_metadata(uri, checkpoint):
    (checkpoint / "pytorch_model.bin").write_bytes(b"pickle, never stored")
    # WHEN the folder is registered
    llm = register(uri, str(checkpoint), name="tiny-llama")
    # THEN version 1 of tiny-llama is an LLM with the shape as tags
    assert (llm.name, llm.version, llm.created, llm.stored) == ("tiny-llama", 1, True, True)
    version = client(uri).get_model_version("tiny-llama", "1")
    tags = version.tags
    assert tags["mlp.kind"] == "llm"
    assert tags["mlp.llm.served_name"] == "tiny-llama"
    assert tags["mlp.llm.architecture"] == "LlamaForCausalLM"
    assert int(tags["mlp.llm.parameters"]) == expected_parameters()
    assert (tags["mlp.llm.dtype"], tags["mlp.llm.context_length"]) == ("float32", "256")
    assert float(tags["mlp.llm.gpu_memory_gib"]) == pytest.approx(capacity.RESERVE_GIB, abs=0.01)
    # AND the weights were stored as the run's artifacts, and the version's source is there
    assert version.source == tags["mlp.llm.weights_uri"] == llm.weights_uri
    assert llm.local_path is not None
    assert llm.weights_uri == llm.local_path.as_uri()
    stored = sorted(p.name for p in llm.local_path.iterdir())
    assert "pytorch_model.bin" not in stored
    assert stored == sorted(p.name for p in checkpoint.iterdir() if p.suffix != ".bin")
    for name in stored:
        assert (llm.local_path / name).read_bytes() == (checkpoint / name).read_bytes()
    # AND the run that registered it is the version's lineage, in the llm-registry experiment
    run = client(uri).get_run(version.run_id)
    assert run.info.status == "FINISHED"
    assert client(uri).get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert run.data.params["parameters"] == str(expected_parameters())


def test_the_same_weights_twice_is_one_version_and_new_weights_are_the_next(
    uri, checkpoint, tmp_path
):
    first = register(uri, str(checkpoint), name="tiny-llama")
    again = register(uri, str(checkpoint), name="tiny-llama")
    assert (again.version, again.created) == (first.version, False)
    other = fake_checkpoint(tmp_path / "retrained", seed=1)
    assert register(uri, str(other), name="tiny-llama").version == 2


def test_a_catalog_model_is_registered_with_the_catalog_figures(uri):
    llm = register(uri, catalog="tinyllama-1.1b")
    assert (llm.name, llm.served_name, llm.catalog_key) == (TINY.key, TINY.served_name, TINY.key)
    assert (llm.weights_uri, llm.stored, llm.local_path) == (TINY.uri, False, None)
    assert llm.shape.parameters == TINY.parameters
    assert llm.shape.context_length == TINY.context_length
    # the GPU memory tag is the capacity check's "needed" at full context, one sequence
    report = capacity.check(
        TINY, GPU_TYPES["nvidia-l4"], max_model_len=TINY.context_length, concurrency=1
    )
    assert llm.gpu_memory_gib == round(report.needed_gib, 2)
    assert client(uri).get_model_version(TINY.key, "1").source == TINY.uri


def test_a_pinned_hf_uri_of_a_catalog_repository_keeps_its_weights_on_the_hub(uri):
    llm = register(uri, TINY.uri, name="tinyllama", alias="champion")
    assert (llm.weights_uri, llm.stored, llm.shape.num_kv_heads) == (TINY.uri, False, 4)
    assert resolve_llm("tinyllama", tracking_uri=uri).local_path is None


@pytest.mark.parametrize(
    "text",
    [
        "hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0@main",
        "hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0@fe8a4ea",
    ],
)
def test_an_unpinned_hf_uri_is_refused_with_how_to_pin_it(text):
    with pytest.raises(ConfigError, match="is not pinned") as err:
        parse_source(text)
    assert "https://huggingface.co/api/models/TinyLlama/TinyLlama-1.1B-Chat-v1.0" in err.value.hint


def test_an_hf_repository_outside_the_catalog_is_refused_with_how_to_register_it():
    with pytest.raises(ConfigError, match="not in the LLM catalog") as err:
        parse_source("hf://someone/model@" + "a" * 40)
    assert "hf download someone/model --revision" in err.value.hint


# ---- aliases, resolving ------------------------------------------------------------------
def test_aliases_move_through_the_audited_promotion_and_resolve_follows(uri, checkpoint, tmp_path):
    register(uri, str(checkpoint), name="tiny-llama", alias="champion", user="ana")
    other = fake_checkpoint(tmp_path / "v2", seed=2)
    register(uri, str(other), name="tiny-llama", alias="challenger", user="ana")
    # a bare NAME is its champion; @ALIAS and /VERSION as everywhere
    assert resolve_llm("tiny-llama", tracking_uri=uri).version == 1
    got = resolve_llm("tiny-llama@challenger", tracking_uri=uri)
    assert (got.version, got.alias, got.aliases) == (2, "challenger", ("challenger",))
    assert resolve_llm("models:/tiny-llama/2", tracking_uri=uri).local_path is not None
    # the registration's alias move is in the audit history, like `mlp models promote`'s
    assert alias_history("tiny-llama", "champion", tracking_uri=uri)[0].by == "ana"
    # and the promotion rules of predictive models apply unchanged
    promote("tiny-llama", "champion", "challenger", tracking_uri=uri, user="bo", reason="better")
    assert resolve_llm("tiny-llama@champion", tracking_uri=uri).version == 2
    rollback("tiny-llama", "champion", tracking_uri=uri, user="bo", reason="worse")
    assert resolve_llm("tiny-llama", tracking_uri=uri).version == 1


def test_resolving_a_predictive_model_version_says_it_is_not_an_llm(uri, checkpoint):
    register(uri, str(checkpoint), name="tiny-llama")
    c = client(uri)
    c.create_registered_model("churn")
    c.create_model_version("churn", source="s3://bucket/churn/model")
    with pytest.raises(RegistryError, match="churn/1 is not an LLM") as err:
        resolve_llm("churn/1", tracking_uri=uri)
    assert "mlp serve churn/1" in err.value.hint
    # and the list holds LLMs only
    assert [(m.name, m.version) for m in list_llms(uri)] == [("tiny-llama", 1)]


def test_an_llm_never_joins_a_predictive_model(uri, checkpoint):
    c = client(uri)
    c.create_registered_model("churn")
    c.create_model_version("churn", source="s3://bucket/churn/model")
    with pytest.raises(RegistryError, match="version 1 is not an LLM") as err:
        register(uri, str(checkpoint), name="churn")
    assert "--name" in err.value.hint
    assert [int(v.version) for v in c.search_model_versions("name='churn'")] == [1]


def test_the_figures_feed_the_capacity_check_and_the_deploy_spec(uri):
    llm = register(uri, TINY.uri, name="tinyllama")
    model = llm.catalog_model()
    assert (model.key, model.uri, model.parameters) == ("tinyllama", TINY.uri, TINY.parameters)
    spec = LlmDeploySpec(
        model=model,
        options=LlmDeployOptions(cloud="aws"),
        registered=llm.name,
        version=llm.version,
        run_id=llm.run_id or "",
    )
    pool = check(spec)
    assert pool.gpu.memory_gib >= llm.gpu_memory_gib


# ---- nothing half-registered -------------------------------------------------------------
def test_a_bad_source_writes_nothing(uri, checkpoint, tmp_path):
    register(uri, str(checkpoint), name="tiny-llama", alias="champion")
    runs_before = _runs(uri)
    broken = fake_checkpoint(tmp_path / "broken", seed=3)
    (broken / "model-00001-of-00002.safetensors").write_bytes(b"\x00" * 3)
    with pytest.raises(ConfigError):
        register(uri, str(broken), name="tiny-llama")
    assert [int(v.version) for v in client(uri).search_model_versions("name='tiny-llama'")] == [1]
    assert _runs(uri) == runs_before


def test_a_failure_after_the_first_write_takes_everything_back(uri, checkpoint):
    # GIVEN an alias that the model reference grammar accepts and the promotion refuses
    with pytest.raises(PromotionRejectedError, match="'latest' is not a valid alias"):
        register(uri, str(checkpoint), name="tiny-llama", alias="latest")
    # THEN the version and the model it created are gone, and the run is failed and deleted
    assert client(uri).search_registered_models() == []
    runs = client(uri).search_runs(_experiments(uri), run_view_type=3)  # ALL, deleted too
    assert [(r.info.status, r.info.lifecycle_stage) for r in runs] == [("FAILED", "deleted")]
    # AND a later registration starts from version 1
    assert register(uri, str(checkpoint), name="tiny-llama").version == 1


def _experiments(uri: str) -> list[str]:
    return [e.experiment_id for e in client(uri).search_experiments()]


def _runs(uri: str) -> set[str]:
    return {r.info.run_id for r in client(uri).search_runs(_experiments(uri), run_view_type=3)}


def test_public_api_is_pinned():
    from mlplatform.llm import registry, sources, weights

    assert registry.__all__ == [
        "EXPERIMENT",
        "KIND_TAG",
        "TAG_PREFIX",
        "RegisteredLLM",
        "from_version",
        "list_llms",
        "register_llm",
        "resolve_llm",
    ]
    assert sources.__all__ == [
        "OBJECT_STORE_SCHEMES",
        "HfUri",
        "WeightsSource",
        "parse_hf_uri",
        "parse_source",
    ]
    assert weights.__all__ == [
        "PICKLE_SUFFIXES",
        "TOKENIZER_FILES",
        "LlmShape",
        "folder_digest",
        "read_shape",
        "safetensors_header",
    ]
