"""The one rule for the names of pipelines, steps and models (docs/model-references.md).

These names become parts of store keys (``last/<pipeline>/<step>.json``,
``serving-samples/<model>/...``), URL path segments (``/v1/models/<model>:predict``), metric
labels and, sanitised, Argo template names. One rule keeps every one of those safe::

    1 to 128 characters: letters, digits, '.', '_' and '-'; the first a letter or digit;
    no '..' anywhere

so a name never leaves the folder it is joined to (no ``/``, no ``..``), never hides as a dot
file, and needs no quoting in a shell, a URL or a path.
"""

from __future__ import annotations

import re

from mlplatform.errors import PipelineDefinitionError

__all__ = ["MAX_NAME_LENGTH", "NAME_RULE", "check_name", "definition_name", "suggest_name"]

MAX_NAME_LENGTH = 128
NAME_RULE = (
    f"1 to {MAX_NAME_LENGTH} letters, digits, '.', '_' or '-', starting with a letter or "
    "a digit, without '..'"
)
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_NAME_LENGTH - 1}}}")
_OUTSIDE = re.compile(r"[^A-Za-z0-9._-]+")


def check_name(name: str, kind: str) -> str:
    """``name`` if it follows the rule; ``kind`` (pipeline, step, model) goes in the message.

    Raises:
        ValueError: it does not, with the name, the rule and, where one exists, a name that
            would do.
    """
    if isinstance(name, str) and _NAME.fullmatch(name) and ".." not in name:
        return name
    reason = f"the {kind} name {name!r} does not follow the name rule ({NAME_RULE})"
    better = suggest_name(name) if isinstance(name, str) else None
    raise ValueError(f"{reason}; {better!r} would do" if better else reason)


def definition_name(name: str, kind: str) -> str:
    """``name`` of a pipeline or a step (``kind``), given or made from the function's name.

    Raises:
        PipelineDefinitionError: it does not follow the rule; the hint says what to pass.
    """
    try:
        return check_name(name, kind)
    except ValueError as exc:
        better = suggest_name(name) or "my-" + kind
        raise PipelineDefinitionError(
            str(exc),
            f"Pass name={better!r} to @{kind} (or Step/Pipeline); nothing has run.",
        ) from None


def suggest_name(text: str) -> str | None:
    """A name that follows the rule, made from ``text`` (``../evil`` -> ``evil``), or None."""
    clean = _OUTSIDE.sub("-", text)
    while ".." in clean:
        clean = clean.replace("..", ".")
    clean = clean.lstrip("._-")[:MAX_NAME_LENGTH].rstrip("._-")
    return clean or None
