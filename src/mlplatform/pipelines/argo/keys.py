"""Argo ``memoize.key``: the step's cache key as an Argo expression, and a checker for it.

Code, params and env components are known at compile time and baked in; only the inputs
component depends on upstream output digests, known at run time. The key is built exactly as
``mlplatform.pipelines.cache.key_of`` builds it, with ``sprig.sha256sum`` over the same
canonical JSON text, so Argo's key and the launcher's key are the same string.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from mlplatform.pipelines.cache import canonical_json, inputs_hash, key_of

__all__ = ["digest_param", "evaluate", "key_expression", "ref_param"]


def digest_param(arg: str) -> str:
    return f"{arg}-digest"


def ref_param(arg: str) -> str:
    return f"{arg}-ref"


def _quote(text: str) -> str:
    if "'" in text or "\\" in text:
        raise ValueError(f"cannot quote {text!r} in an Argo expression")
    return f"'{text}'"


def _inputs_json_expr(args: list[str]) -> str:
    """Expression for canonical JSON of ``{arg: digest}`` (sorted keys, no whitespace)."""
    parts: list[str] = []
    text = "{"
    for i, arg in enumerate(sorted(args)):
        text += ("," if i else "") + f'"{arg}":"'
        parts += [_quote(text), f"inputs.parameters['{digest_param(arg)}']"]
        text = '"'
    parts.append(_quote(text + "}"))
    return " + ".join(parts)


def key_expression(components: Mapping[str, str], artifact_args: list[str]) -> str:
    """``memoize.key`` for a step: a literal key, or a ``{{=...}}`` expression over inputs."""
    if not artifact_args:
        return key_of({**components, "inputs": inputs_hash({})})
    # the exact text key_of hashes, with a hole where the inputs component goes
    before, after = canonical_json({**components, "inputs": _HOLE}).split(_HOLE)
    inner = f"sprig.sha256sum({_inputs_json_expr(artifact_args)})"
    return f"{{{{=sprig.sha256sum({_quote(before)} + {inner} + {_quote(after)})}}}}"


_HOLE = "@@inputs@@"
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'[^']*')|(?P<plus>\+)|(?P<sha>sprig\.sha256sum\()|(?P<close>\))"
    r"|(?P<param>inputs\.parameters\['(?P<name>[^']+)'\]))"
)


def evaluate(expression: str, parameters: Mapping[str, str]) -> str:
    """Evaluate a key as Argo would, given the template's input parameter values.

    Understands exactly what ``key_expression`` writes: string literals, ``+``,
    ``sprig.sha256sum(...)`` and ``inputs.parameters['name']``. Anything else raises.
    """
    if not expression.startswith("{{="):
        return expression
    body = expression[3:-2]
    tokens = _tokens(body)
    value, rest = _expr(tokens, parameters)
    if rest:
        raise ValueError(f"unexpected tokens at the end of {body!r}")
    return value


def _tokens(body: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while body[pos:].strip():
        match = _TOKEN.match(body, pos)
        if match is None:
            raise ValueError(f"cannot parse {body[pos : pos + 30]!r}")
        kind = next(k for k in ("str", "plus", "sha", "close", "param") if match.group(k))
        out.append((kind, match.group("name") if kind == "param" else match.group(kind)))
        pos = match.end()
    return out


def _expr(
    tokens: list[tuple[str, str]], params: Mapping[str, str]
) -> tuple[str, list[tuple[str, str]]]:
    value, tokens = _term(tokens, params)
    while tokens and tokens[0][0] == "plus":
        more, tokens = _term(tokens[1:], params)
        value += more
    return value, tokens


def _term(
    tokens: list[tuple[str, str]], params: Mapping[str, str]
) -> tuple[str, list[tuple[str, str]]]:
    kind, text = tokens[0]
    if kind == "str":
        return text[1:-1], tokens[1:]
    if kind == "param":
        return params[text], tokens[1:]
    if kind == "sha":
        inner, rest = _expr(tokens[1:], params)
        if not rest or rest[0][0] != "close":
            raise ValueError("missing ) after sprig.sha256sum(")
        return hashlib.sha256(inner.encode()).hexdigest(), rest[1:]
    raise ValueError(f"unexpected token {text!r}")
