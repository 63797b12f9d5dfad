"""A model reference: how every command names a registered model version.

One grammar (docs/model-references.md), accepted by ``mlp serve``, ``mlp deploy model``,
``mlp drift -r``, ``mlp models show|promote|rollback`` and the serving container::

    NAME                     the version the champion alias points to
    NAME@ALIAS               the version an alias points to (followed when it moves)
    NAME@VERSION             a version number: NAME@3
    NAME/VERSION             the same: NAME/3
    models:/NAME@ALIAS       MLflow's URIs, the same meaning
    models:/NAME/VERSION

After ``@``, digits are a version and anything else an alias (MLflow reserves ``v<digits>``).
``models:/NAME`` alone is refused: MLflow 3 reads it as a logged model's ID.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlplatform.errors import ModelReferenceError
from mlplatform.grammar._rules import check_name, parse_version, split_selector

__all__ = ["DEFAULT_ALIAS", "MODELS_SCHEME", "ModelRef", "parse_model_name", "parse_model_ref"]

DEFAULT_ALIAS = "champion"
MODELS_SCHEME = "models:/"


@dataclass(frozen=True)
class ModelRef:
    """A registered model version, by alias (followed when it moves) or by number.

    Exactly one of ``alias`` and ``version`` is set; the constructor checks the rules of
    ``parse_model_ref`` and raises ``ModelReferenceError`` where they fail.
    """

    name: str
    alias: str | None = None
    version: int | None = None

    def __post_init__(self) -> None:
        if (self.alias is None) == (self.version is None):
            raise ModelReferenceError(
                f"model reference {self.name!r} needs an alias or a version, not both or neither"
            )
        try:
            check_name(self.name)
            if self.alias is not None:
                split_selector(self.alias)
                if self.alias.isdigit():
                    raise ValueError(f"the alias {self.alias!r} is a number; pass it as version")
            else:
                parse_version(str(self.version))
        except ValueError as exc:
            raise _error(str(self), str(exc)) from None

    @property
    def uri(self) -> str:
        """MLflow's URI: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``."""
        return f"{MODELS_SCHEME}{self}"

    @property
    def alias_or_version(self) -> str:
        """``champion`` or ``3``: what MLflow's registry looks the version up by."""
        return self.alias if self.alias is not None else str(self.version)

    def __str__(self) -> str:
        return (
            f"{self.name}@{self.alias}" if self.alias is not None else f"{self.name}/{self.version}"
        )


def parse_model_ref(text: str) -> ModelRef:
    """``churn``, ``churn@champion``, ``churn@3``, ``churn/3``, ``models:/churn@champion``,
    ``models:/churn/3`` -> a ``ModelRef`` (a bare name means its ``champion``).

    Raises:
        ModelReferenceError: none of those forms, or a name or alias MLflow refuses.
    """
    body = text.strip()
    uri = body.startswith(MODELS_SCHEME)
    body = body.removeprefix(MODELS_SCHEME)
    try:
        if "/" in body:
            name, _, version = body.partition("/")
            return ModelRef(check_name(name), version=parse_version(version))
        if "@" in body:
            name, _, selector = body.partition("@")
            alias, number = split_selector(selector)
            return ModelRef(check_name(name), alias=alias, version=number)
        if uri:
            raise ValueError("models:/NAME needs @ALIAS or /VERSION (alone it is a model ID)")
        return ModelRef(check_name(body), alias=DEFAULT_ALIAS)
    except ValueError as exc:
        raise _error(text, str(exc)) from None


def parse_model_name(text: str) -> str:
    """The ``NAME`` of the grammar alone, for commands about a whole model (``mlp models``).

    Raises:
        ModelReferenceError: not a model name, or the text names a version (``@`` or ``/``).
    """
    body = text.strip()
    if "@" in body or "/" in body:
        raise ModelReferenceError(
            f"{text!r} names a model version; this command takes the model's NAME",
            "Pass the registered model's name alone, e.g. churn.",
        )
    try:
        return check_name(body)
    except ValueError as exc:
        raise _error(text, str(exc)) from None


def _error(text: str, reason: str) -> ModelReferenceError:
    return ModelReferenceError(f"{text!r} is not a model reference: {reason}")
