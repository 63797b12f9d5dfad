"""Where an LLM's weights come from, as ``mlp llm register`` is told: the one parser.

::

    --catalog KEY                    a catalog entry (mlplatform.llm.catalog): its pinned hf:// URI
    ./DIR, /abs/DIR                  a local Hugging Face checkpoint folder: stored in the registry
    hf://ORG/NAME@REVISION           the Hugging Face Hub, pinned to a 40-hex commit
    s3://B/P, gs://B/P, abfs://C/P   a checkpoint folder on an object store

Weights named by a URI stay where they are; the registry records the URI. A local folder is
copied into the tracking store's artifacts, since no server could read the laptop's disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlplatform.errors import ConfigError
from mlplatform.llm.catalog import CATALOG, CatalogModel, lookup

__all__ = ["OBJECT_STORE_SCHEMES", "HfUri", "WeightsSource", "parse_hf_uri", "parse_source"]

OBJECT_STORE_SCHEMES = ("s3", "gs", "abfs")
SourceKind = Literal["catalog", "local", "hf", "object-store"]
_HF = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)(@(?P<revision>[^/@]*))?/?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class HfUri:
    """``hf://ORG/NAME@REVISION``, the revision a 40-hex commit."""

    repo: str
    revision: str

    def __str__(self) -> str:
        return f"hf://{self.repo}@{self.revision}"


@dataclass(frozen=True)
class WeightsSource:
    """A parsed source. ``uri`` is what the registry records (for a local folder, its path
    until the registry has stored it); ``model`` is the catalog entry whose figures apply."""

    kind: SourceKind
    uri: str
    model: CatalogModel | None = None
    path: Path | None = None


def parse_source(text: str | None, *, catalog: str | None = None) -> WeightsSource:
    """One of the forms above; exactly one of ``text`` and ``catalog`` is given.

    Raises:
        ConfigError: both or neither, an unknown catalog key, an unpinned or unknown hf://
            repository, a scheme the platform cannot read, or a local path that is no folder.
    """
    if (text is None) == (catalog is None):
        raise ConfigError(
            "name the weights once: a SOURCE (folder or URI) or --catalog KEY",
            "For example: mlp llm register --catalog tinyllama-1.1b, or "
            "mlp llm register ./my-model --name my-model.",
        )
    if catalog is not None:
        model = lookup(catalog)
        return WeightsSource("catalog", model.uri, model=model)
    assert text is not None
    scheme, sep, _ = text.partition("://")
    if not sep:
        return _local(text)
    if scheme == "hf":
        hf = parse_hf_uri(text)
        return WeightsSource("hf", str(hf), model=_catalog_entry(hf))
    if scheme in OBJECT_STORE_SCHEMES:
        return WeightsSource("object-store", text.rstrip("/"))
    raise ConfigError(
        f"{text}: the registry cannot hold weights at a {scheme}:// URI",
        "Pass a local folder, hf://ORG/NAME@COMMIT, or an s3://, gs:// or abfs:// folder.",
    )


def parse_hf_uri(text: str) -> HfUri:
    """``hf://ORG/NAME@REVISION`` with a 40-hex commit.

    Raises:
        ConfigError: not that form; an unpinned URI (no revision, or a branch or tag, which
            move) is refused with how to find the commit.
    """
    match = _HF.match(text)
    if not match:
        raise ConfigError(
            f"{text} is not hf://ORG/NAME@REVISION",
            "Write the repository and its commit: hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0@"
            "fe8a4ea1ffedaf415f4da2f062534de366a451e6.",
        )
    repo, revision = match["repo"], match["revision"] or ""
    if not _COMMIT.match(revision):
        given = f"revision {revision!r} is not a commit" if revision else "no revision"
        raise ConfigError(
            f"{text} is not pinned ({given}): a branch moves, so the weights could change "
            "under the registered version",
            f"Pin the 40-hex commit: hf://{repo}@COMMIT; the Hub reports the current one as "
            f"'sha' at https://huggingface.co/api/models/{repo}.",
        )
    return HfUri(repo, revision)


def _catalog_entry(hf: HfUri) -> CatalogModel:
    """The catalog entry of the same repository: its figures are the shape, known offline."""
    for model in CATALOG.values():
        if model.repo_id == hf.repo:
            return model
    known = ", ".join(sorted(m.repo_id for m in CATALOG.values()))
    raise ConfigError(
        f"hf://{hf.repo} is not in the LLM catalog, so its shape (layers, heads, parameters) "
        "is unknown here, and nothing is downloaded to read it",
        f"Download it (hf download {hf.repo} --revision {hf.revision} --local-dir "
        "DIR) and register DIR, or copy it to s3://, gs:// or abfs:// and register that "
        f"folder. Catalog repositories: {known}.",
    )


def _local(text: str) -> WeightsSource:
    path = Path(text).expanduser().resolve()
    if not path.is_dir():
        raise ConfigError(
            f"{text} is not a folder",
            "Pass a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer), "
            "a URI (hf://ORG/NAME@COMMIT, s3://, gs://, abfs://) or --catalog KEY.",
        )
    return WeightsSource("local", str(path), path=path)
