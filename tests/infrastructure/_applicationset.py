"""A small evaluator of the ApplicationSet generators the platform uses (matrix, list, git
files) on the repository's working tree, and of its Go template subset ({{.a.b}} only).

It follows Argo CD v3.5.0 (argoproj/argo-cd, applicationset/generators/{matrix,list,git}.go,
applicationset/utils/utils.go): with goTemplate the git files generator's parameters are the
file's YAML, nested, plus path.{path,basename,filename,basenameNormalized,filenameNormalized};
a matrix yields the merge of each pair of its two children's parameter sets; the template is
rendered as text, then templatePatch is rendered and merged over it. Anything else it meets
(another generator, a template pipeline, a missing key) is an error, never a guess."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

Params = dict[str, Any]
_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_FIELD = re.compile(r"(\.[A-Za-z_][A-Za-z0-9_]*)+")


class EvaluationError(Exception):
    """The ApplicationSet uses something this evaluator does not model, or a key is missing."""


def generate(generator: dict[str, Any], repo: Path) -> list[Params]:
    kinds = set(generator) - {"selector"}
    if kinds == {"list"}:
        return [copy.deepcopy(e) for e in generator["list"]["elements"]]
    if kinds == {"git"}:
        return _git_files(generator["git"], repo)
    if kinds == {"matrix"}:
        children = generator["matrix"]["generators"]
        if len(children) != 2:
            raise EvaluationError("a matrix generator takes exactly two generators")
        left, right = (generate(child, repo) for child in children)
        return [{**a, **b} for a in left for b in right]
    raise EvaluationError(f"generator {sorted(kinds)} is not modelled")


def _git_files(spec: dict[str, Any], repo: Path) -> list[Params]:
    if "directories" in spec:
        raise EvaluationError("the git directories generator is not modelled")
    found: list[Params] = []
    for pattern in spec["files"]:
        for path in sorted(repo.glob(pattern["path"])):
            content = yaml.safe_load(path.read_text()) or {}
            relative = path.relative_to(repo)
            content["path"] = {
                "path": str(relative.parent),
                "basename": relative.parent.name,
                "filename": relative.name,
                "basenameNormalized": relative.parent.name.replace("_", "-").lower(),
                "filenameNormalized": relative.name.replace("_", "-").lower(),
            }
            found.append(content)
    return found


def render(text: str, params: Params) -> str:
    """Go text/template for {{.a.b}} actions with missingkey=error."""

    def value(match: re.Match[str]) -> str:
        action = match.group(1)
        if not _FIELD.fullmatch(action):
            raise EvaluationError(f"template action {{{{{action}}}}} is not modelled")
        current: Any = params
        for key in action.split(".")[1:]:
            if not isinstance(current, dict) or key not in current:
                raise EvaluationError(f"map has no entry for key {key!r} ({action})")
            current = current[key]
        return "true" if current is True else "false" if current is False else str(current)

    return _ACTION.sub(value, text)


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in patch.items()}}
    return patch


def applications(appset: dict[str, Any], repo: Path) -> list[dict[str, Any]]:
    """The Applications the ApplicationSet generates from the repository at ``repo``."""
    spec = appset["spec"]
    if spec.get("goTemplate") is not True:
        raise EvaluationError("only goTemplate ApplicationSets are modelled")
    template = yaml.safe_dump(spec["template"], sort_keys=False)
    apps = []
    for params in (p for g in spec["generators"] for p in generate(g, repo)):
        app = yaml.safe_load(render(template, params))
        if "templatePatch" in spec:
            app = _merge(app, yaml.safe_load(render(spec["templatePatch"], params)))
        apps.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **app})
    return apps
