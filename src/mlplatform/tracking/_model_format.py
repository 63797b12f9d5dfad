"""How a scikit-learn model is written into MLflow: the serialization format and its pins.

Decision: **skops, with an explicit list of trusted types** (the default).

MLflow 3 saves scikit-learn models with skops unless told otherwise. skops refuses, at save
and at load, every type that is not on its built-in allow-list, and tree models are not on it
(``sklearn.tree._tree.Tree`` for random forests,
``sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor`` for histogram gradient
boosting). We compute the types the model needs with ``skops.io.get_untrusted_types`` on its
dumped bytes and accept the model only when each is on the platform's one list of trusted
types (``mlplatform.artifacts.skops_format``: exact names, shared with pipeline artifacts and
the model loader) or among the caller's ``extra`` (the ``trusted_types`` setting). MLflow
stores the list in the ``MLmodel`` file as ``skops_trusted_types``, but our loader ignores it:
a list inside an artifact is whatever its writer wanted (``mlplatform.serving.trust``).

A model with another type is refused with a hint to trust it in the settings or to pass
``serialization_format="cloudpickle"``, which the caller may choose knowingly; the model
server then refuses to load it unless ``[serving] allow_pickle_models`` is set. Why not
cloudpickle by default: loading a pickle runs arbitrary code from the artifact and binds the
model to the exact Python and library versions; skops loads only the listed types.

Pip requirements are always passed, pinned from the installed distributions: letting MLflow
infer them imports the model in a subprocess and costs 15-40 s per registration.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import Literal

from mlplatform.artifacts import skops_format
from mlplatform.errors import RegistryError

__all__ = ["SerializationFormat", "pinned_requirements", "trusted_types"]

SerializationFormat = Literal["skops", "cloudpickle"]

_BASE_PACKAGES = ("scikit-learn", "numpy", "pandas", "scipy")


def trusted_types(model: object, extra: Iterable[str] = ()) -> list[str]:
    """The non-default types skops must trust to load ``model`` back.

    Raises:
        RegistryError: the model cannot be dumped with skops, or needs a type that is neither
            on the platform's trusted list nor in ``extra``.
    """
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    except Exception as exc:  # skops raises plain TypeError/ValueError on unsupported objects
        raise RegistryError(
            f"the model cannot be saved in the skops format: {exc}",
            "Use only top-level classes and functions in the model, or register it with "
            'serialization_format="cloudpickle" if you trust everyone who can load it.',
        ) from exc
    foreign = skops_format.untrusted(untrusted, extra)
    if foreign:
        raise RegistryError(
            f"the model uses types skops will not load without trusting them: {', '.join(foreign)}",
            "If you trust them, pass them as register_model(..., extra_trusted_types=[...]) "
            f"and add them to {skops_format.TRUSTED_TYPES_SETTING} so the model server loads "
            'them; or register it with serialization_format="cloudpickle" if you trust everyone '
            "who can write to the registry (the server then needs allow_pickle_models).",
        )
    return sorted(untrusted)


def pinned_requirements(serialization_format: SerializationFormat) -> list[str]:
    """``name==version`` for the packages a model of this format needs to load and predict."""
    extra = "skops" if serialization_format == "skops" else "cloudpickle"
    names = ("mlflow", *_BASE_PACKAGES, extra)
    return [f"{name}=={metadata.version(name)}" for name in names if _installed(name)]


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True
