"""The shape of a Hugging Face checkpoint folder, read without loading a tensor.

A checkpoint folder holds ``config.json`` (architecture, layers, heads, context), one or more
``*.safetensors`` files and the tokenizer's files. The shape the capacity check needs comes
from ``config.json``; the parameter count from the safetensors headers: each file starts with
an 8-byte little-endian length and that many bytes of JSON naming every tensor's dtype and
shape (https://github.com/huggingface/safetensors, "Format"). Only those bytes are read, so a
7B checkpoint's shape costs a few kilobytes of I/O.

The folder may be local or on an object store (``s3://``, ``gs://``, ``abfs://``, through
fsspec with the caller's storage options). Pickled weights (``*.bin``, ``*.pt``...) are never
read: loading them runs code, so a folder without safetensors is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplatform.errors import ConfigError
from mlplatform.llm.catalog import DTYPE_BYTES, CatalogModel

__all__ = [
    "PICKLE_SUFFIXES",
    "TOKENIZER_FILES",
    "LlmShape",
    "folder_digest",
    "read_shape",
    "safetensors_header",
]

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")
_MAX_HEADER = 100 * 1024 * 1024  # the safetensors library's own limit on the header
_ST_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F8_E4M3": "fp8"}


@dataclass(frozen=True)
class LlmShape:
    """What sizes an LLM in GPU memory: the figures ``mlplatform.llm.capacity`` uses."""

    architecture: str
    parameters: int
    dtype: str
    context_length: int
    num_layers: int
    num_kv_heads: int
    head_dim: int

    @classmethod
    def of(cls, model: CatalogModel) -> LlmShape:
        """The shape of a catalog entry."""
        return cls(
            model.architecture,
            model.parameters,
            model.dtype,
            model.context_length,
            model.num_layers,
            model.num_kv_heads,
            model.head_dim,
        )


def read_shape(folder: str | Path, storage_options: Mapping[str, Any] | None = None) -> LlmShape:
    """The shape of the checkpoint in ``folder`` (a local path or an object store URL).

    Raises:
        ConfigError: no ``config.json``, no tokenizer, no ``*.safetensors`` (or only pickled
            weights), a header that is not safetensors, or a config without the figures.
    """
    fs, root = _filesystem(str(folder), storage_options)
    names = _listing(fs, root, str(folder))
    config = _config(fs, root, names, str(folder))
    tensors = sorted(n for n in names if n.endswith(".safetensors"))
    if not tensors:
        pickled = [n for n in names if n.endswith(PICKLE_SUFFIXES)]
        raise ConfigError(
            f"{folder} has no *.safetensors weights"
            + (f" (only pickled ones: {', '.join(pickled)})" if pickled else ""),
            "Save the checkpoint with safetensors (save_pretrained(..., safe_serialization=True)"
            "); pickled weights run code when loaded and are never registered.",
        )
    if not any(n in names for n in TOKENIZER_FILES):
        raise ConfigError(
            f"{folder} has no tokenizer ({' or '.join(TOKENIZER_FILES)})",
            "Save the tokenizer into the folder too: tokenizer.save_pretrained(FOLDER).",
        )
    headers = [safetensors_header(fs, f"{root}/{name}") for name in tensors]
    return _shape(config, headers, str(folder))


def safetensors_header(fs: Any, path: str) -> dict[str, Any]:
    """The JSON header of a safetensors file (tensor name -> dtype, shape, offsets).

    Raises:
        ConfigError: the file does not start with a safetensors header.
    """
    with fs.open(path, "rb") as handle:
        head = handle.read(8)
        size = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if not 1 < size <= _MAX_HEADER:
            raise _not_safetensors(path, "its first 8 bytes are not a header length")
        raw = handle.read(size)
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise _not_safetensors(path, f"its header is not JSON ({exc})") from None
    if not isinstance(header, dict) or len(raw) != size:
        raise _not_safetensors(path, "its header is cut short or not a JSON object")
    return header


def folder_digest(folder: Path, names: list[str]) -> str:
    """``sha256:`` of the listed files' relative names and contents, in name order."""
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0")
        with (folder / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(block)
        digest.update(b"\0")
    return f"sha256:{digest.hexdigest()}"


# ---- internals ---------------------------------------------------------------------------
def _filesystem(folder: str, storage_options: Mapping[str, Any] | None) -> tuple[Any, str]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(folder, **dict(storage_options or {}))
    return fs, str(root).rstrip("/")


def _listing(fs: Any, root: str, shown: str) -> set[str]:
    try:
        entries = fs.ls(root, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        entries = None
    if not entries:
        raise ConfigError(
            f"{shown} is not a checkpoint folder (missing or empty)",
            "Pass a folder that holds config.json, *.safetensors and the tokenizer files.",
        )
    return {str(e["name"]).rstrip("/").rsplit("/", 1)[-1] for e in entries if e["type"] == "file"}


def _config(fs: Any, root: str, names: set[str], shown: str) -> dict[str, Any]:
    if "config.json" not in names:
        raise ConfigError(
            f"{shown} has no config.json",
            "Pass a Hugging Face checkpoint folder (model.save_pretrained(FOLDER) writes one).",
        )
    try:
        with fs.open(f"{root}/config.json", "rb") as handle:
            config = json.load(handle)
    except ValueError as exc:
        raise ConfigError(f"{shown}/config.json is not JSON: {exc}", "Fix or re-save it.") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{shown}/config.json is not a JSON object", "Fix or re-save it.")
    return config


def _shape(config: dict[str, Any], headers: list[dict[str, Any]], shown: str) -> LlmShape:
    tensors = [t for h in headers for k, t in h.items() if k != "__metadata__"]
    try:
        heads = int(config["num_attention_heads"])
        return LlmShape(
            architecture=str((config.get("architectures") or ["unknown"])[0]),
            parameters=sum(math.prod(int(d) for d in t["shape"]) for t in tensors),
            dtype=_dtype(config, tensors, shown),
            context_length=int(config["max_position_embeddings"]),
            num_layers=int(config["num_hidden_layers"]),
            num_kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or int(config["hidden_size"]) // heads),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{shown}/config.json lacks a figure the capacity check needs: {exc!r}",
            "A decoder checkpoint's config names hidden_size, num_attention_heads, "
            "num_hidden_layers and max_position_embeddings; re-save it with save_pretrained.",
        ) from None


def _dtype(config: dict[str, Any], tensors: list[dict[str, Any]], shown: str) -> str:
    """The config's dtype (``dtype`` in transformers 5, ``torch_dtype`` before), else the
    weights' own."""
    named = config.get("dtype") or config.get("torch_dtype")
    if named is None and tensors:
        named = _ST_DTYPES.get(str(tensors[0].get("dtype")))
    if named not in DTYPE_BYTES:
        raise ConfigError(
            f"{shown}: dtype {named!r} is not one of {', '.join(DTYPE_BYTES)}",
            "Save the checkpoint in float32, float16 or bfloat16.",
        )
    return str(named)


def _not_safetensors(path: str, why: str) -> ConfigError:
    return ConfigError(
        f"{path} is not a safetensors file: {why}",
        "Re-save the weights with save_pretrained(..., safe_serialization=True).",
    )
