"""What `mlp llm serve` serves: each MODEL argument -> the vLLM engine spec that runs it.

A MODEL is ``[SERVED=]REF`` where REF is a checkpoint folder on this machine or a registered
LLM (``NAME``, ``NAME@ALIAS``, ``NAME/VERSION``: the one model-reference syntax). A registered
version's weights are its stored folder (downloaded to this machine's cache when the store is
remote) or its pinned Hub revision (``hf://ORG/NAME@COMMIT``, which vLLM downloads unless
``HF_HUB_OFFLINE`` is set); weights that stay in s3://, gs:// or abfs:// are refused here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlplatform.errors import ConfigError
from mlplatform.grammar import check_name
from mlplatform.llm.local.engine import EngineSpec
from mlplatform.llm.local.memory import LocalNeed, local_need

if TYPE_CHECKING:
    from mlplatform.llm.registry import RegisteredLLM

__all__ = ["ServeOptions", "ServedModel", "engine_spec_for", "split_served_name"]


@dataclass(frozen=True)
class ServeOptions:
    """Engine settings every served model shares (from `mlp llm serve`'s flags)."""

    dtype: str | None = None  # None: the registered dtype, else vLLM's auto
    max_model_len: int | None = None
    kv_cache_gib: float = 1.0
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class ServedModel:
    """One MODEL argument: the engine that serves it and the memory that engine needs."""

    spec: EngineSpec
    need: LocalNeed


def split_served_name(arg: str) -> tuple[str | None, str]:
    """``SERVED=REF`` -> (SERVED, REF); ``REF`` -> (None, REF)."""
    served, sep, ref = arg.partition("=")
    if not sep:
        return None, arg
    try:
        check_name(served, "served model")
    except ValueError as exc:
        raise ConfigError(
            f"{exc}.",
            "Write MODEL as SERVED=REF with a name that follows the rule: chat=./tiny-model.",
        ) from None
    return served, ref


def engine_spec_for(
    arg: str,
    options: ServeOptions,
    resolve: Callable[[str], RegisteredLLM],
) -> ServedModel:
    """The engine spec for one MODEL argument; ``resolve`` looks up registered LLMs.

    Raises:
        ConfigError: weights that vLLM cannot read from here.
        RegistryError / ModelReferenceError: from ``resolve`` for an unknown model.
    """
    served, ref = split_served_name(arg)
    folder = Path(ref).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"{folder} is not a Hugging Face checkpoint folder (no config.json).",
                "Pass a folder with config.json, the weights (*.safetensors) and the "
                "tokenizer files, or a registered LLM as NAME@ALIAS (mlp llm list).",
            )
        from mlplatform.llm.weights import read_shape

        shape = read_shape(folder)
        spec = EngineSpec(
            model=str(folder.resolve()),
            served_name=served or folder.resolve().name,
            port=0,
            host=options.host,
            dtype=options.dtype or "auto",
            max_model_len=options.max_model_len,
            kv_cache_gib=options.kv_cache_gib,
        )
        return _served(spec, shape.parameters, shape.dtype)
    llm = resolve(ref)
    dtype = options.dtype or llm.shape.dtype
    common = {
        "served_name": served or llm.served_name,
        "port": 0,
        "host": options.host,
        "dtype": dtype,
        "max_model_len": options.max_model_len,
        "kv_cache_gib": options.kv_cache_gib,
    }
    weights_uri = llm.weights_uri
    if llm.local_path is not None:
        spec = EngineSpec(model=str(llm.local_path), **common)  # type: ignore[arg-type]
        return _served(spec, llm.shape.parameters, llm.shape.dtype)
    if weights_uri.startswith("hf://"):
        repo, _, revision = weights_uri.removeprefix("hf://").partition("@")
        spec = EngineSpec(model=repo, revision=revision or None, **common)  # type: ignore[arg-type]
        return _served(spec, llm.shape.parameters, llm.shape.dtype)
    raise ConfigError(
        f"{ref}'s weights are at {weights_uri}, which vLLM does not read directly.",
        "Copy them to a folder here (e.g. `aws s3 sync URI ./weights`) and serve the folder: "
        "mlp llm serve NAME=./weights.",
    )


def _served(spec: EngineSpec, parameters: int, checkpoint_dtype: str) -> ServedModel:
    dtype = checkpoint_dtype if spec.dtype == "auto" else spec.dtype
    return ServedModel(spec, local_need(spec.served_name, parameters, dtype, spec.kv_cache_gib))
