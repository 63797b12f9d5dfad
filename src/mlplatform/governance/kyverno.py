"""The Kyverno policies of model governance, rendered from the one rule set.

``render_policies(RULES)`` returns the ``policies.kyverno.io/v1`` ValidatingPolicies that the
cluster applies (``infrastructure/kubernetes/base/governance``) to every KServe
``InferenceService`` and ``LLMInferenceService``; ``render_admission_record`` the
MutatingPolicy that annotates every production admission with the approval it was admitted
under; ``policy_files`` is the same as the YAML text committed there. Each validation checks
one rule of ``RuleSet`` and its message starts with the rule's id (``[metadata.semver] ...``),
so a denial names the rule as the registry's refusal does. The patterns are the rule set's own
strings (``SEMVER_PATTERN`` ...) as CEL raw strings, and a rule applies in the stages whose
requirements list it.

What a deployed object says about its model version is read by ``facts_from_object``: the
labels and annotations that ``mlp deploy model`` and ``mlp deploy llm`` write from the
registry (semver, owner, run id, author, and in production the approval), turned into the
``VersionFacts`` the local checks take. ``admission_verdict`` is the local check
(``governance.check``) applied to an admission request on such an object: what the rendered
policies must decide; ``admission_record`` is what the MutatingPolicy must add
(tests/governance/test_kyverno_cel.py evaluates their CEL and compares).

Rules the cluster cannot see are left to the registry (``REGISTRY_ONLY``): the evaluation
gate is not on the object, the actor is the API server's authenticated user, aliases and
semver overrides are registry operations. The cluster adds one rule of its own,
``object.model_name``: a deployed model names its registered model.

The CEL is the common subset of cel-go and cel-python, plus two functions of the Kubernetes
CEL environment that Kyverno includes, ``trim()`` and ``lowerAscii()`` (four eyes compares
identities ignoring case and surrounding spaces), and the mutation's ``JSONPatch`` type and
``jsonpatch.escapeKey``; the test gives cel-python the same four.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mlplatform.governance.check import Approval, VersionFacts, check_delete, check_stage_change
from mlplatform.governance.rules import APPROVED, RULES, RuleId, RuleSet

__all__ = [
    "ADMITTED_APPROVAL_ANNOTATION",
    "ADMITTED_BY_ANNOTATION",
    "APPROVED_AT_ANNOTATION",
    "APPROVER_ANNOTATION",
    "AUTHOR_ANNOTATION",
    "CLUSTER_RULES",
    "MODEL_NAME_LABEL",
    "MODEL_NAME_RULE",
    "OWNER_LABEL",
    "POLICY_NAMES",
    "REGISTRY_ONLY",
    "RESOURCE_RULES",
    "RUN_ID_ANNOTATION",
    "STAGE_LABEL",
    "TICKET_ANNOTATION",
    "VERSION_LABEL",
    "admission_record",
    "admission_verdict",
    "cluster_stage",
    "facts_from_object",
    "governance_stage",
    "policy_files",
    "render_admission_record",
    "render_policies",
    "rule_of",
]

Doc = dict[str, Any]

# ---- what a deployed object carries (the renderers of `mlp deploy model|llm` write these) --
MODEL_NAME_LABEL = "mlplatform.io/model-name"
VERSION_LABEL = "mlplatform.io/model-version"
OWNER_LABEL = "mlplatform.io/owner"
STAGE_LABEL = "mlplatform.io/model-stage"
RUN_ID_ANNOTATION = "mlplatform.io/mlflow-run-id"
APPROVER_ANNOTATION = "mlplatform.io/approved-by"
TICKET_ANNOTATION = "mlplatform.io/approval-ticket"
APPROVED_AT_ANNOTATION = "mlplatform.io/approved-at"
AUTHOR_ANNOTATION = "mlplatform.io/author"
"""The version's author (an annotation: identities such as e-mail addresses are not label
values); the production policy denies an approver who is the author (four eyes)."""

# ---- what the admission MutatingPolicy adds ------------------------------------------------
ADMITTED_APPROVAL_ANNOTATION = "mlplatform.io/admitted-approval"
"""``<approver>/<ticket>/<semver>/<approved-at>``: the approval a production object was
admitted under, written by the cluster at admission (not by ``mlp deploy``)."""
ADMITTED_BY_ANNOTATION = "mlplatform.io/admitted-by"
"""The API server's authenticated user who made the admitted request."""
ADMISSION_POLICY = "production-admitted-approval"

_CLUSTER_STAGE_NAMES = {"none": "development"}
"""Stage names that differ in the cluster: a registered version that is not governed yet is
deployed as ``development`` (the deploy commands' name for it)."""

MODEL_NAME_RULE = "object.model_name"
"""The cluster's own rule: a deployed model names its registered model (label
``mlplatform.io/model-name``). A registry version always has a name."""

CLUSTER_RULES: tuple[str, ...] = (
    MODEL_NAME_RULE,
    RuleId.STAGE,
    RuleId.OWNER,
    RuleId.SEMVER,
    RuleId.LINEAGE,
    RuleId.APPROVAL,
    RuleId.TICKET,
    RuleId.FOUR_EYES,
    RuleId.DELETE,
)
"""Every rule the rendered policies check, in the order of their validations."""

REGISTRY_ONLY: Mapping[RuleId, str] = {
    RuleId.GATE: "the evaluation gate's result is a registry tag, not on the deployed object",
    RuleId.ACTOR: "the API server authenticates who makes a cluster change",
    RuleId.SEMVER_OVERRIDE: "setting a semantic version by hand is a registry operation",
    RuleId.PRODUCTION_ALIAS: "aliases are registry pointers; a deployed object has none",
}
"""Rules checked only by the registry, and why the cluster cannot check them."""

RESOURCE_RULES: tuple[Doc, ...] = (
    {"apiGroups": ["serving.kserve.io"], "apiVersions": ["v1beta1"],
     "resources": ["inferenceservices"]},
    {"apiGroups": ["serving.kserve.io"], "apiVersions": ["v1alpha1", "v1alpha2"],
     "resources": ["llminferenceservices"]},
)  # fmt: skip
"""The KServe resources a deployed model is one of (predictive and LLM)."""


@dataclass(frozen=True)
class _Policy:
    name: str
    title: str
    comment: str
    rules: tuple[str, ...]
    delete: bool = False


_POLICIES = (
    _Policy(
        "model-required-labels",
        "Required model labels",
        "A deployed model names its registered model and, once governed, its owner.",
        (MODEL_NAME_RULE, RuleId.OWNER),
    ),
    _Policy(
        "model-stage",
        "Model stage",
        "The stage a model is deployed as: one of the rule set's stages.",
        (RuleId.STAGE,),
    ),
    _Policy(
        "model-lineage",
        "MLflow lineage",
        "Lineage: the MLflow run that logged the model.",
        (RuleId.LINEAGE,),
    ),
    _Policy(
        "model-semantic-version",
        "Semantic model version",
        "A governed model's version is semantic: MAJOR.MINOR.PATCH.",
        (RuleId.SEMVER,),
    ),
    _Policy(
        "production-approval",
        "Production approval",
        "Production needs a named approver other than the author and a well-formed ticket.",
        (RuleId.APPROVAL, RuleId.TICKET, RuleId.FOUR_EYES),
    ),
    _Policy(
        "production-deletion-protection",
        "Production deletion protection",
        "A production model is not deleted: set its stage to archived first, then delete.",
        (RuleId.DELETE,),
        delete=True,
    ),
)

_READS: dict[str, tuple[tuple[str, str, str], ...]] = {
    MODEL_NAME_RULE: (("modelName", "labels", MODEL_NAME_LABEL),),
    RuleId.OWNER: (("owner", "labels", OWNER_LABEL),),
    RuleId.SEMVER: (("version", "labels", VERSION_LABEL),),
    RuleId.LINEAGE: (("runId", "annotations", RUN_ID_ANNOTATION),),
    RuleId.APPROVAL: (("approver", "annotations", APPROVER_ANNOTATION),),
    RuleId.TICKET: (
        ("approver", "annotations", APPROVER_ANNOTATION),
        ("ticket", "annotations", TICKET_ANNOTATION),
    ),
    RuleId.FOUR_EYES: (
        ("approver", "annotations", APPROVER_ANNOTATION),
        ("author", "annotations", AUTHOR_ANNOTATION),
    ),
}
"""The policy variables (name, labels or annotations, key) each rule's CEL reads."""

POLICY_NAMES = tuple(p.name for p in _POLICIES)
"""The rendered policies' names; each is committed as ``validatingpolicy.<name>.yaml``."""

_HEADER = (
    "# Rendered by mlplatform.governance.kyverno from the governance rule set; do not edit.\n"
    "# Regenerate: MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest \\\n"
    "#   tests/governance/test_kyverno_cel.py\n"
)


# ---- stages in the cluster ---------------------------------------------------------------
def cluster_stage(stage: str) -> str:
    """The label value of the rule set's ``stage`` in the cluster."""
    return _CLUSTER_STAGE_NAMES.get(stage, stage)


def governance_stage(label: str) -> str:
    """The rule set's stage for the cluster's stage label value ``label`` (the inverse). A
    registry name the cluster spells otherwise (``none``) is no stage in the cluster: it comes
    back as a name that is not a stage, saying what the cluster calls it."""
    for stage, name in _CLUSTER_STAGE_NAMES.items():
        if label == name:
            return stage
        if label == stage:
            return f"{label} (in the cluster: {name})"
    return label


# ---- rendering ---------------------------------------------------------------------------
def render_policies(rules: RuleSet = RULES) -> list[Doc]:
    """The governance ValidatingPolicies for ``rules``, in ``POLICY_NAMES`` order."""
    return [_policy(p, rules) for p in _POLICIES]


def policy_files(rules: RuleSet = RULES) -> dict[str, str]:
    """``<kind>.<name>.yaml`` -> its YAML text, as committed in the cluster base: the
    ValidatingPolicies and the admission record's MutatingPolicy."""
    files = {
        f"validatingpolicy.{p.name}.yaml": f"{_HEADER}# {p.comment}\n{_dump(doc)}"
        for p, doc in zip(_POLICIES, render_policies(rules), strict=True)
    }
    comment = "# Annotates every production admission with the approval it was admitted under.\n"
    mutating = _dump(render_admission_record(rules))
    files[f"mutatingpolicy.{ADMISSION_POLICY}.yaml"] = f"{_HEADER}{comment}{mutating}"
    return files


def render_admission_record(rules: RuleSet = RULES) -> Doc:
    """The MutatingPolicy that annotates every InferenceService and LLMInferenceService
    admitted (created or updated) in a protected stage (production) with the approval it was
    admitted under, ``ADMITTED_APPROVAL_ANNOTATION`` (approver/ticket/semver/approved-at, from
    the object's own annotations and labels), and who made the request
    (``ADMITTED_BY_ANNOTATION``, the API server's user). Kyverno mutates before it validates:
    an object the ValidatingPolicies deny is annotated and still denied."""
    stages = _list([cluster_stage(s) for s in _approval_stages(rules)])
    reads = [
        ("approver", "annotations", APPROVER_ANNOTATION),
        ("ticket", "annotations", TICKET_ANNOTATION),
        ("approvedAt", "annotations", APPROVED_AT_ANNOTATION),
        ("version", "labels", VERSION_LABEL),
    ]
    variables = [
        {"name": "annotations", "expression": _field("object", "annotations")},
        {"name": "labels", "expression": _field("object", "labels")},
        *({"name": n, "expression": _get(f, k)} for n, f, k in reads),
        {
            "name": "admitted",
            "expression": "variables.approver + '/' + variables.ticket + '/' +\n"
            "variables.version + '/' + variables.approvedAt",
        },
        {"name": "admittedBy", "expression": "request.userInfo.username"},
    ]
    approval, by = ADMITTED_APPROVAL_ANNOTATION, ADMITTED_BY_ANNOTATION
    patch = (
        "has(object.metadata.annotations) ?\n"
        "[\n"
        f"  JSONPatch{{op: 'add', path: '/metadata/annotations/' + "
        f"jsonpatch.escapeKey('{approval}'), value: variables.admitted}},\n"
        f"  JSONPatch{{op: 'add', path: '/metadata/annotations/' + "
        f"jsonpatch.escapeKey('{by}'), value: variables.admittedBy}}\n"
        "] :\n"
        "[\n"
        "  JSONPatch{op: 'add', path: '/metadata/annotations', value: {\n"
        f"    '{approval}': variables.admitted, '{by}': variables.admittedBy}}}}\n"
        "]"
    )
    staged = (
        f"has(object.metadata.labels) && '{STAGE_LABEL}' in object.metadata.labels &&\n"
        f"object.metadata.labels['{STAGE_LABEL}'] in {stages}"
    )
    return {
        "apiVersion": "policies.kyverno.io/v1",
        "kind": "MutatingPolicy",
        "metadata": {
            "name": ADMISSION_POLICY,
            "annotations": {
                "policies.kyverno.io/title": "Production admission record",
                "policies.kyverno.io/category": "Model governance",
                "policies.kyverno.io/description": (
                    f"Annotates every production InferenceService and LLMInferenceService "
                    f"admission with the approval it was admitted under ({approval}: "
                    f"approver/ticket/semver/approved-at) and who made the request ({by})."
                ),
            },
        },
        "spec": {
            "failurePolicy": "Fail",
            "reinvocationPolicy": "IfNeeded",
            "evaluation": {"admission": {"enabled": True}, "mutateExisting": {"enabled": False}},
            "matchConstraints": {
                "resourceRules": [{**r, "operations": ["CREATE", "UPDATE"]} for r in RESOURCE_RULES]
            },
            "matchConditions": [{"name": "production-stage", "expression": staged}],
            "variables": variables,
            "mutations": [{"patchType": "JSONPatch", "jsonPatch": {"expression": patch}}],
        },
    }


def _approval_stages(rules: RuleSet) -> list[str]:
    """The stages whose requirements include an approval (production)."""
    return [r.stage for r in rules.requirements if RuleId.APPROVAL in r.rules]


def _field(root: str, name: str) -> str:
    return f"has({root}.metadata.{name}) ? {root}.metadata.{name} : {{}}"


def rule_of(message: str) -> str:
    """The rule id a rendered validation's message starts with (``[metadata.owner] ...``)."""
    if not message.startswith("[") or "]" not in message:
        raise ValueError(f"not a governance policy message: {message!r}")
    return message[1 : message.index("]")]


def _policy(p: _Policy, rules: RuleSet) -> Doc:
    spec: Doc = {
        "validationActions": ["Deny"],
        "evaluation": {"background": {"enabled": not p.delete}},
        "matchConstraints": {
            "resourceRules": [
                {**r, "operations": ["DELETE"] if p.delete else ["CREATE", "UPDATE"]}
                for r in RESOURCE_RULES
            ]
        },
    }
    root = "oldObject" if p.delete else "object"
    spec["variables"] = [
        {"name": f, "expression": _field(root, f)} for f in ("labels", "annotations")
    ]
    keys = [("stage", "labels", STAGE_LABEL)]
    keys += [key for rule_id in p.rules for key in _READS.get(rule_id, ())]
    spec["variables"] += [
        {"name": name, "expression": _get(field, key)} for name, field, key in dict.fromkeys(keys)
    ]
    spec["validations"] = [_validation(rule_id, rules) for rule_id in p.rules]
    return {
        "apiVersion": "policies.kyverno.io/v1",
        "kind": "ValidatingPolicy",
        "metadata": {
            "name": p.name,
            "annotations": {
                "policies.kyverno.io/title": p.title,
                "policies.kyverno.io/category": "Model governance",
                "policies.kyverno.io/description": _description(p),
            },
        },
        "spec": spec,
    }


def _validation(rule_id: str, rules: RuleSet) -> Doc:
    holds, what = _holds(rule_id, rules)
    stages = _stages_requiring(rule_id, rules)
    if stages is not None:
        holds = f"!(variables.stage in {_list(stages)}) ||\n{holds}"
        what = f"{what} (stage {' or '.join(stages)})"
    hint = "" if rule_id in _NO_HINT else f" {rules.rule(RuleId(rule_id)).hint}"
    return {"expression": holds, "message": f"[{rule_id}] {what}.{hint}"}


_NO_HINT = (MODEL_NAME_RULE, RuleId.STAGE, RuleId.DELETE)  # their hints name registry commands


def _holds(rule_id: str, rules: RuleSet) -> tuple[str, str]:
    """The CEL that is true when ``rule_id`` holds on the object, and what it requires."""
    if rule_id == MODEL_NAME_RULE:
        what = f"a model needs the label {MODEL_NAME_LABEL}"
        return "variables.modelName != ''", what
    if rule_id == RuleId.STAGE:
        stages = [cluster_stage(s) for s in rules.stages]
        what = f"the label {STAGE_LABEL} is one of {', '.join(stages)}"
        return f"variables.stage in {_list(stages)}", what
    if rule_id == RuleId.OWNER:
        what = f"the label {OWNER_LABEL} names the owner, a label value"
        return _matches("owner", rules.owner_pattern), what
    if rule_id == RuleId.SEMVER:
        what = f"the label {VERSION_LABEL} is a semantic version X.Y.Z"
        return _matches("version", rules.semver_pattern), what
    if rule_id == RuleId.LINEAGE:
        what = f"the annotation {RUN_ID_ANNOTATION} names the MLflow run that logged the model"
        return "variables.runId != ''", what
    if rule_id == RuleId.APPROVAL:
        what = f"the annotation {APPROVER_ANNOTATION} names who approved the version"
        return "variables.approver != ''", what
    if rule_id == RuleId.TICKET:
        ticket = _matches("ticket", rules.ticket_pattern)
        what = f"the annotation {TICKET_ANNOTATION} is a change ticket such as MLOPS-123"
        return f"variables.approver == '' || {ticket}", what
    if rule_id == RuleId.FOUR_EYES:
        what = (
            f"the annotation {APPROVER_ANNOTATION} is not the version's author "
            f"({AUTHOR_ANNOTATION}, which must be recorded), ignoring case: four eyes"
        )
        holds = (
            "variables.approver == '' ||\n"
            "(variables.approver.trim() != '' && variables.author != '' &&\n"
            "variables.approver.trim().lowerAscii() != variables.author.trim().lowerAscii())"
        )
        return holds, what
    if rule_id == RuleId.DELETE:
        protected = [cluster_stage(s) for s in rules.protected_stages]
        what = (
            f"a model labelled {' or '.join(protected)} is not deleted; "
            f"set {STAGE_LABEL} to {cluster_stage('archived')} first"
        )
        return f"!(variables.stage in {_list(protected)})", what
    raise ValueError(f"the cluster does not check rule {rule_id!r}")


def _stages_requiring(rule_id: str, rules: RuleSet) -> list[str] | None:
    """The cluster stages whose requirements list ``rule_id`` (None: it applies always)."""
    if rule_id in (MODEL_NAME_RULE, RuleId.STAGE, RuleId.DELETE):
        return None
    return [cluster_stage(r.stage) for r in rules.requirements if RuleId(rule_id) in r.rules]


def _description(p: _Policy) -> str:
    return (
        f"Checks the governance rules {', '.join(p.rules)} (mlplatform.governance.rules) "
        "on every InferenceService and LLMInferenceService."
    )


def _get(variable: str, key: str) -> str:
    """CEL: the value of ``key`` in ``variables.<variable>``, or '' when absent."""
    return f"'{key}' in variables.{variable} ?\nvariables.{variable}['{key}'] : ''"


def _matches(variable: str, pattern: str) -> str:
    if "'" in pattern or "\n" in pattern:
        raise ValueError(f"pattern {pattern!r} cannot be a CEL raw string")
    return f"variables.{variable}.matches(r'{pattern}')"


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _dump(doc: Doc) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


class _Dumper(yaml.SafeDumper):
    """CEL in literal blocks (``|-``: it reads as written), messages folded (``>-``), lists
    of strings in flow style, block lists indented under their key (as the repository's
    hand-written manifests are)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if value.startswith("[") else "|" if "\n" in value or "'" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _seq(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(isinstance(v, str) and "\n" not in v for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _seq)


# ---- the local check, on a cluster object -------------------------------------------------
def facts_from_object(obj: Mapping[str, Any]) -> VersionFacts:
    """What a deployed InferenceService or LLMInferenceService says about its model version,
    as the registry's facts: name, semver, owner and stage from labels, the run id, the author
    and the approval from annotations. The gate is not on the object (None)."""
    metadata = obj.get("metadata") or {}
    labels: Mapping[str, str] = metadata.get("labels") or {}
    annotations: Mapping[str, str] = metadata.get("annotations") or {}
    approver = annotations.get(APPROVER_ANNOTATION, "")
    approvals: tuple[Approval, ...] = ()
    if approver:
        ticket = annotations.get(TICKET_ANNOTATION, "")
        at = annotations.get(APPROVED_AT_ANNOTATION, "")
        approvals = (Approval(n=1, decision=APPROVED, by=approver, at=at, ticket=ticket),)
    return VersionFacts(
        name=labels.get(MODEL_NAME_LABEL, ""),
        version=0,
        semver=labels.get(VERSION_LABEL) or None,
        owner=labels.get(OWNER_LABEL) or None,
        author=annotations.get(AUTHOR_ANNOTATION) or None,
        run_id=annotations.get(RUN_ID_ANNOTATION) or None,
        stage=governance_stage(labels.get(STAGE_LABEL, "")),
        approvals=approvals,
    )


def admission_verdict(
    operation: str,
    obj: Mapping[str, Any] | None,
    old: Mapping[str, Any] | None = None,
    *,
    rules: RuleSet = RULES,
) -> list[str]:
    """The ids of the rules that the local check (``governance.check``) finds broken by an
    admission ``operation`` (CREATE, UPDATE or DELETE) on ``obj`` (``old`` for DELETE), among
    those the cluster checks; empty: allowed. The rendered policies must decide the same."""
    if operation == "DELETE":
        if old is None:
            raise ValueError("a DELETE admission needs the object being deleted (old)")
        facts = facts_from_object(old)
        return [str(v.rule.id) for v in check_delete(facts, rules=rules)]
    if obj is None:
        raise ValueError(f"a {operation} admission needs the object")
    found: list[str] = [] if _label(obj, MODEL_NAME_LABEL) else [MODEL_NAME_RULE]
    facts = facts_from_object(obj)
    # the actor is the API server's authenticated user: never empty in the cluster
    violations = check_stage_change(facts, facts.stage, actor="kubernetes", rules=rules)
    found += [str(v.rule.id) for v in violations if v.rule.id not in REGISTRY_ONLY]
    return sorted(found, key=CLUSTER_RULES.index)


def admission_record(
    obj: Mapping[str, Any], username: str, *, rules: RuleSet = RULES
) -> dict[str, str]:
    """The annotations the admission MutatingPolicy adds to ``obj`` when ``username`` creates
    or updates it (none outside the stages that need an approval): what its CEL must give."""
    labels: Mapping[str, str] = (obj.get("metadata") or {}).get("labels") or {}
    stages = [cluster_stage(s) for s in _approval_stages(rules)]
    if labels.get(STAGE_LABEL) not in stages:
        return {}
    annotations: Mapping[str, str] = (obj.get("metadata") or {}).get("annotations") or {}
    fields = (APPROVER_ANNOTATION, TICKET_ANNOTATION)
    parts = [annotations.get(k, "") for k in fields]
    parts += [labels.get(VERSION_LABEL, ""), annotations.get(APPROVED_AT_ANNOTATION, "")]
    return {ADMITTED_APPROVAL_ANNOTATION: "/".join(parts), ADMITTED_BY_ANNOTATION: username}


def _label(obj: Mapping[str, Any], key: str) -> str:
    labels: Mapping[str, str] = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(key, "")
