"""The pieces the model reference and canary grammars share: names, aliases, versions.

A registered model name follows the one name rule of pipelines, steps and models
(``mlplatform.grammar.names``), which is narrower than MLflow's (not blank, no ``/`` or ``:``):
a model name becomes a store key and a URL path segment. An alias follows MLflow's rules
(``mlflow.utils.validation``): letters, digits, ``_`` and ``-``, at most 255 characters, and
``v<digits>`` is reserved. One rule is ours: an alias is never all digits (digits name a
version).
"""

from __future__ import annotations

import re

from mlplatform.grammar import names

__all__ = ["MAX_ALIAS_LENGTH", "check_name", "parse_version", "split_selector"]

MAX_ALIAS_LENGTH = 255
_ALIAS = re.compile(r"^[A-Za-z0-9_-]+$")
_RESERVED_VERSION_ALIAS = re.compile(r"^[vV]\d+$")


def check_name(name: str) -> str:
    """``name`` if it can name a registered model.

    Raises:
        ValueError: why it cannot (the message completes "not a model reference: ...").
    """
    if not name.strip():
        raise ValueError("the model name is empty")
    if name != name.strip():
        raise ValueError(f"the model name {name!r} starts or ends with a space")
    if bad := sorted({c for c in name if c in "/:@"}):
        raise ValueError(f"a model name cannot contain {' or '.join(map(repr, bad))}")
    if name in (".", "..") or name.startswith(".."):
        raise ValueError(f"{name!r} would be read as a path, which MLflow refuses as a name")
    return names.check_name(name, "model")


def split_selector(text: str) -> tuple[str | None, int | None]:
    """What follows ``NAME@``: ``(alias, None)`` or ``(None, version)``; digits are a version.

    Raises:
        ValueError: neither an alias nor a version number.
    """
    if text.isdigit() and text.isascii():
        return None, parse_version(text)
    if not text:
        raise ValueError("the alias is empty")
    if not _ALIAS.match(text):
        raise ValueError(f"the alias {text!r} may hold only letters, digits, '_' and '-'")
    if len(text) > MAX_ALIAS_LENGTH:
        raise ValueError(f"the alias is longer than {MAX_ALIAS_LENGTH} characters")
    if _RESERVED_VERSION_ALIAS.match(text):
        raise ValueError(
            f"MLflow reserves the alias {text!r}; version {text[1:]} is written {text[1:]}"
        )
    return text, None


def parse_version(text: str) -> int:
    """A version number: ASCII digits, 1 or more.

    Raises:
        ValueError: not such a number.
    """
    if not (text.isdigit() and text.isascii()) or int(text) < 1:
        raise ValueError(f"the version {text!r} is not a whole number from 1 up")
    return int(text)
