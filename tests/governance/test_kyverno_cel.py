"""The rendered Kyverno policies and the local check give the same verdict on the same objects.

Each fixture is an admission request on an InferenceService or LLMInferenceService. Its
cluster verdict comes from the rendered ValidatingPolicies, evaluated as Kyverno evaluates
them: a policy applies when its matchConstraints match the request (group, version, resource,
operation) and its matchConditions hold; its variables are computed in order and bound as
``variables``; ``object``, ``oldObject`` (null on CREATE; on DELETE ``object`` is null) and
``request`` are bound as the API server binds them; every validation whose CEL is false
denies with its message, which names the rule. The CEL runs in cel-python (``celpy``, RE2
``matches()`` through google-re2), not in a restatement. Its local verdict comes from
``governance.check`` on the facts read from the same labels and annotations
(``kyverno.admission_verdict``). Both must equal the fixture's expected rule ids.

The committed policy files are the render (a golden comparison); regenerate with
``MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/governance/test_kyverno_cel.py``.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from celpy import celtypes

from _golden import compare
from mlplatform.governance import kyverno
from mlplatform.governance.kyverno import (
    APPROVED_AT_ANNOTATION,
    APPROVER_ANNOTATION,
    AUTHOR_ANNOTATION,
    CLUSTER_RULES,
    MODEL_NAME_LABEL,
    MODEL_NAME_RULE,
    OWNER_LABEL,
    REGISTRY_ONLY,
    RUN_ID_ANNOTATION,
    STAGE_LABEL,
    TICKET_ANNOTATION,
    VERSION_LABEL,
    admission_verdict,
    policy_files,
    render_policies,
)
from mlplatform.governance.rules import RULES, RuleId, RuleSet

REPO = Path(__file__).resolve().parents[2]
GOVERNANCE = REPO / "infrastructure" / "kubernetes" / "base" / "governance"
REGENERATE = "MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/governance/test_kyverno_cel.py"
Doc = dict[str, Any]
RESOURCES = {"InferenceService": "inferenceservices", "LLMInferenceService": "llminferenceservices"}


class JSONPatch(celtypes.MessageType):
    """The JSONPatch type of the Kubernetes CEL environment for mutations (op, path, value)."""


_ENV = celpy.Environment(annotations={"JSONPatch": JSONPatch})


# The four functions of the Kubernetes CEL environment (which Kyverno's includes) that the
# policies use beyond cel-python's standard library, with cel-go's semantics: ext/strings.go
# lowerAscii (ASCII letters only) and trim (unicode.IsSpace on both ends), and jsonpatch's
# escapeKey (RFC 6901: '~' -> '~0', '/' -> '~1'), called on the ``jsonpatch`` namespace.
def _lower_ascii(text: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType("".join(c.lower() if "A" <= c <= "Z" else c for c in text))


def _trim(text: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(text.strip())


def _escape_key(_namespace: Any, key: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(key.replace("~", "~0").replace("/", "~1"))


K8S_FUNCTIONS = {"lowerAscii": _lower_ascii, "trim": _trim, "escapeKey": _escape_key}


# ---- Kyverno's evaluation of a ValidatingPolicy, with celpy --------------------------------
def _cel(expression: str, activation: dict[str, Any]) -> Any:
    program = _ENV.program(_ENV.compile(expression), functions=K8S_FUNCTIONS)
    return program.evaluate({"jsonpatch": celtypes.MapType(), **activation})


def _matches(policy: Doc, request: Doc) -> bool:
    group, version = request["kind"]["group"], request["kind"]["version"]
    return any(
        group in rule["apiGroups"]
        and version in rule["apiVersions"]
        and request["resource"]["resource"] in rule["resources"]
        and request["operation"] in rule["operations"]
        for rule in policy["spec"]["matchConstraints"]["resourceRules"]
    )


def _boolean(value: Any, expression: str) -> bool:
    # an error or a non-boolean is not a verdict: the policy's CEL must be total on any object
    assert isinstance(value, celtypes.BoolType), f"{expression!r} gave {value!r}"
    return bool(value)


def denials(policy: Doc, request: Doc) -> list[str]:
    """The rule ids ``policy`` denies ``request`` for (none when it does not apply)."""
    if not _matches(policy, request):
        return []
    activation: dict[str, Any] = {
        "object": celpy.json_to_cel(request["object"]),
        "oldObject": celpy.json_to_cel(request["oldObject"]),
        "request": celpy.json_to_cel(
            {k: v for k, v in request.items() if k not in ("object", "oldObject")}
        ),
    }
    for condition in policy["spec"].get("matchConditions", []):
        if not _boolean(_cel(condition["expression"], activation), condition["expression"]):
            return []
    variables = celtypes.MapType()
    for variable in policy["spec"].get("variables", []):
        activation["variables"] = variables
        value = _cel(variable["expression"], activation)
        variables = celtypes.MapType({**variables, celtypes.StringType(variable["name"]): value})
    activation["variables"] = variables
    return [
        kyverno.rule_of(v["message"])
        for v in policy["spec"]["validations"]
        if not _boolean(_cel(v["expression"], activation), v["expression"])
    ]


def admission_request(operation: str, obj: Doc | None, old: Doc | None = None) -> Doc:
    """The AdmissionRequest fields a policy reads, as the API server fills them."""
    subject = obj if obj is not None else old
    assert subject is not None
    group, _, version = subject["apiVersion"].partition("/")
    kind = {"group": group, "version": version, "kind": subject["kind"]}
    return {
        "operation": operation,
        "kind": kind,
        "resource": {"group": group, "version": version, "resource": RESOURCES[subject["kind"]]},
        "name": subject["metadata"]["name"],
        "namespace": subject["metadata"].get("namespace", "models"),
        "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
        "object": None if operation == "DELETE" else obj,
        "oldObject": old if operation in ("UPDATE", "DELETE") else None,
    }


def cluster_verdict(
    operation: str, obj: Doc | None, old: Doc | None = None, *, policies: list[Doc] | None = None
) -> list[str]:
    """Every rule id the rendered policies deny the request for, in ``CLUSTER_RULES`` order."""
    request = admission_request(operation, obj, old)
    found = {r for p in (policies or render_policies()) for r in denials(p, request)}
    return sorted(found, key=CLUSTER_RULES.index)


# ---- fixtures -------------------------------------------------------------------------------
RUN = "6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5"


def isvc(
    stage: str = "staging",
    kind: str = "InferenceService",
    changes: dict[str, str | None] | None = None,
) -> Doc:
    """A deployed model as `mlp deploy` labels it; ``changes`` sets (None: removes) labels and
    annotations by key."""
    api = (
        "serving.kserve.io/v1beta1" if kind == "InferenceService" else "serving.kserve.io/v1alpha2"
    )
    labels: dict[str, str] = {
        MODEL_NAME_LABEL: "churn-model",
        VERSION_LABEL: "1.4.0",
        OWNER_LABEL: "ml-team",
        STAGE_LABEL: stage,
        "app.kubernetes.io/managed-by": "mlp",
    }
    annotations = {"mlplatform.io/mlflow-experiment-id": "1", RUN_ID_ANNOTATION: RUN}
    if stage in ("production", "archived"):
        annotations[AUTHOR_ANNOTATION] = "alice"
    if stage == "production":
        annotations |= {
            APPROVER_ANNOTATION: "bob",
            TICKET_ANNOTATION: "MLOPS-123",
            APPROVED_AT_ANNOTATION: "2026-08-01T10:00:00+00:00",
        }
    for key, value in (changes or {}).items():
        target = labels if key in LABELS else annotations
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    metadata = {
        "name": "churn-model",
        "namespace": "models",
        "labels": labels,
        "annotations": annotations,
    }
    return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": {}}


def _bare(kind: str = "InferenceService") -> Doc:
    doc = isvc(kind=kind)
    del doc["metadata"]["labels"], doc["metadata"]["annotations"]
    return doc


NAME, VERSION, OWNER, STAGE = MODEL_NAME_LABEL, VERSION_LABEL, OWNER_LABEL, STAGE_LABEL
RUNID, APPROVER, TICKET = RUN_ID_ANNOTATION, APPROVER_ANNOTATION, TICKET_ANNOTATION
AUTHOR = AUTHOR_ANNOTATION
LABELS = (NAME, VERSION, OWNER, STAGE)
LLM = "LLMInferenceService"

# name -> (operation, object, old object, the rule ids both verdicts must name)
FIXTURES: dict[str, tuple[str, Doc | None, Doc | None, list[str]]] = {
    "staging, complete": ("CREATE", isvc(), None, []),
    "production, approved with a ticket": ("CREATE", isvc("production"), None, []),
    "production LLM, approved": ("CREATE", isvc("production", "LLMInferenceService"), None, []),
    "development, nothing governed yet": (
        "CREATE",
        isvc("development", changes={OWNER: None, VERSION: "3", RUNID: None}),
        None,
        [],
    ),
    "archived, nothing required": (
        "UPDATE",
        isvc("archived", changes={OWNER: None}),
        isvc("production"),
        [],
    ),
    "no labels or annotations at all": (
        "CREATE",
        _bare(),
        None,
        [MODEL_NAME_RULE, RuleId.STAGE],
    ),
    "LLM without labels": (
        "CREATE",
        _bare("LLMInferenceService"),
        None,
        [MODEL_NAME_RULE, RuleId.STAGE],
    ),
    "missing model name": ("CREATE", isvc(changes={NAME: None}), None, [MODEL_NAME_RULE]),
    "missing stage": ("CREATE", isvc(changes={STAGE: None}), None, [RuleId.STAGE]),
    "unknown stage": ("CREATE", isvc("prod"), None, [RuleId.STAGE]),
    "the registry's name 'none' is not a cluster stage": (
        "CREATE",
        isvc("none"),
        None,
        [RuleId.STAGE],
    ),
    "missing owner": ("CREATE", isvc(changes={OWNER: None}), None, [RuleId.OWNER]),
    "empty owner": ("UPDATE", isvc(changes={OWNER: ""}), isvc(), [RuleId.OWNER]),
    "owner not a label value": ("CREATE", isvc(changes={OWNER: "ml team"}), None, [RuleId.OWNER]),
    "owner ending in a dash": ("CREATE", isvc(changes={OWNER: "ml-"}), None, [RuleId.OWNER]),
    "owner of 64 characters": ("CREATE", isvc(changes={OWNER: "a" * 64}), None, [RuleId.OWNER]),
    "owner of 63 characters": ("CREATE", isvc(changes={OWNER: "a" * 63}), None, []),
    "missing semver": ("CREATE", isvc(changes={VERSION: None}), None, [RuleId.SEMVER]),
    "semver N (the old labels)": ("CREATE", isvc(changes={VERSION: "3"}), None, [RuleId.SEMVER]),
    "semver with a leading zero": (
        "CREATE",
        isvc(changes={VERSION: "01.2.3"}),
        None,
        [RuleId.SEMVER],
    ),
    "semver with a v": ("CREATE", isvc(changes={VERSION: "v1.2.3"}), None, [RuleId.SEMVER]),
    "semver with a pre-release": (
        "CREATE",
        isvc(changes={VERSION: "2.0.0-rc.1"}),
        None,
        [RuleId.SEMVER],
    ),
    "semver with a trailing newline": (
        "CREATE",
        isvc(changes={VERSION: "1.2.3\n"}),
        None,
        [RuleId.SEMVER],
    ),
    "semver 0.0.0": ("CREATE", isvc(changes={VERSION: "0.0.0"}), None, []),
    "no lineage": ("CREATE", isvc(changes={RUNID: None}), None, [RuleId.LINEAGE]),
    "production without approval": (
        "CREATE",
        isvc("production", changes={APPROVER: None, TICKET: None}),
        None,
        [RuleId.APPROVAL],
    ),
    "production LLM without approval": (
        "CREATE",
        isvc("production", LLM, {APPROVER: None, TICKET: None}),
        None,
        [RuleId.APPROVAL],
    ),
    "production with an empty approver": (
        "UPDATE",
        isvc("production", changes={APPROVER: ""}),
        isvc("production"),
        [RuleId.APPROVAL],
    ),
    "production without a ticket": (
        "CREATE",
        isvc("production", changes={TICKET: None}),
        None,
        [RuleId.TICKET],
    ),
    "production with a bad ticket": (
        "CREATE",
        isvc("production", changes={TICKET: "mlops-123"}),
        None,
        [RuleId.TICKET],
    ),
    "production with a ticket URL": (
        "CREATE",
        isvc("production", changes={TICKET: "https://jira/MLOPS-1"}),
        None,
        [RuleId.TICKET],
    ),
    "staging with a bad ticket (not checked)": (
        "CREATE",
        isvc(changes={APPROVER: "bob", TICKET: "x"}),
        None,
        [],
    ),
    # four eyes: the author is an annotation `mlp deploy` copies from the registry
    "production approved by its author": (
        "CREATE",
        isvc("production", changes={APPROVER: "alice"}),
        None,
        [RuleId.FOUR_EYES],
    ),
    "production approved by its author in other case and spaces": (
        "CREATE",
        isvc("production", changes={APPROVER: " Alice ", AUTHOR: "aLICE"}),
        None,
        [RuleId.FOUR_EYES],
    ),
    "production LLM approved by its author": (
        "UPDATE",
        isvc("production", LLM, {APPROVER: "ALICE"}),
        isvc("production", LLM),
        [RuleId.FOUR_EYES],
    ),
    "production without a recorded author": (
        "CREATE",
        isvc("production", changes={AUTHOR: None}),
        None,
        [RuleId.FOUR_EYES],
    ),
    "production with an empty author": (
        "CREATE",
        isvc("production", changes={AUTHOR: ""}),
        None,
        [RuleId.FOUR_EYES],
    ),
    "production approved by blanks": (
        "CREATE",
        isvc("production", changes={APPROVER: "  "}),
        None,
        [RuleId.FOUR_EYES],
    ),
    "production approved by a second person whose name contains the author's": (
        "CREATE",
        isvc("production", changes={APPROVER: "alice2"}),
        None,
        [],
    ),
    "staging approved by its author (four eyes not asked)": (
        "CREATE",
        isvc(changes={APPROVER: "alice", AUTHOR: "alice", TICKET: "MLOPS-1"}),
        None,
        [],
    ),
    "production, everything wrong": (
        "CREATE",
        isvc(
            "production",
            changes={NAME: None, OWNER: "a b", VERSION: "1.0", RUNID: None, APPROVER: None},
        ),
        None,
        [MODEL_NAME_RULE, RuleId.OWNER, RuleId.SEMVER, RuleId.LINEAGE, RuleId.APPROVAL],
    ),
    "delete a production model": ("DELETE", None, isvc("production"), [RuleId.DELETE]),
    "delete a production LLM": (
        "DELETE",
        None,
        isvc("production", "LLMInferenceService"),
        [RuleId.DELETE],
    ),
    "delete an archived model": ("DELETE", None, isvc("archived"), []),
    "delete a staging model": ("DELETE", None, isvc(), []),
    "delete a broken object": ("DELETE", None, _bare(), []),
}


@pytest.mark.parametrize("name", FIXTURES)
def test_policies_and_local_check_agree(name: str) -> None:
    # GIVEN an admission request WHEN the rendered CEL and the local check decide
    # THEN both deny for exactly the expected rules (or both allow)
    operation, obj, old, expected = FIXTURES[name]
    assert cluster_verdict(operation, obj, old) == expected
    assert admission_verdict(operation, obj, old) == expected


def test_the_fixtures_cover_every_rule_the_cluster_checks() -> None:
    named = {rule for *_, expected in FIXTURES.values() for rule in expected}
    assert named == set(CLUSTER_RULES)
    assert any(not expected for *_, expected in FIXTURES.values())


def test_every_rule_is_checked_in_the_cluster_or_said_to_be_registry_only() -> None:
    ids = {rule.id for rule in RULES.describe()}
    assert ids == (set(CLUSTER_RULES) - {MODEL_NAME_RULE}) | set(REGISTRY_ONLY)
    assert not set(CLUSTER_RULES) & set(REGISTRY_ONLY)


# ---- the same on what `mlp deploy model` and `mlp deploy llm` render ----------------------
def _rendered() -> dict[str, Doc]:
    from llm.deploy._specs import spec as llm_spec
    from mlplatform.llm.deploy import render as render_llm
    from mlplatform.serving.deploy import render as render_model
    from serving.deploy._specs import spec as model_spec

    def served(docs: list[Doc]) -> Doc:
        (doc,) = [d for d in docs if d["kind"] in RESOURCES]
        return doc

    return {
        "model, staging": served(render_model(model_spec("aws"))),
        "model with a canary": served(render_model(model_spec("azure", canary=10))),
        "model, production approved": served(
            render_model(model_spec("gcp", canary=5, stage="production"))
        ),
        "llm, staging": served(render_llm(llm_spec("gcp"))),
        "llm as InferenceService": served(render_llm(llm_spec("aws", kind="inferenceservice"))),
        "llm, production approved": served(render_llm(llm_spec("gcp", stage="production"))),
    }


RENDERED_VERDICT = {
    "model, staging": [],
    "model with a canary": [],
    "model, production approved": [],
    "llm, staging": [],
    "llm as InferenceService": [],
    "llm, production approved": [],
}


@pytest.mark.parametrize("name", RENDERED_VERDICT)
def test_rendered_deployments_get_the_same_verdict(name: str) -> None:
    obj = _rendered()[name]
    assert cluster_verdict("CREATE", obj) == RENDERED_VERDICT[name]
    assert admission_verdict("CREATE", obj) == RENDERED_VERDICT[name]
    assert cluster_verdict("DELETE", None, obj) == admission_verdict("DELETE", None, obj)


# ---- the comparison can fail ---------------------------------------------------------------
def _disagreements(rendered_from: RuleSet) -> list[str]:
    policies = render_policies(rendered_from)
    return [
        name
        for name, (operation, obj, old, _) in FIXTURES.items()
        if cluster_verdict(operation, obj, old, policies=policies)
        != admission_verdict(operation, obj, old)
    ]


def test_a_policy_rendered_from_a_changed_semver_regex_disagrees() -> None:
    # GIVEN policies rendered from a copy of the rules whose semver pattern allows pre-releases
    loose = dataclasses.replace(
        RULES, semver_pattern=RULES.semver_pattern[:-1] + "(-[0-9A-Za-z.-]+)?$"
    )
    # THEN the cluster and the local check part ways on exactly that fixture
    assert _disagreements(loose) == ["semver with a pre-release"]


def test_a_policy_rendered_from_a_changed_ticket_regex_disagrees() -> None:
    lower = dataclasses.replace(RULES, ticket_pattern="^[A-Za-z][A-Za-z0-9]+-[0-9]+$")
    assert _disagreements(lower) == ["production with a bad ticket"]


def test_a_policy_rendered_with_another_protected_stage_disagrees() -> None:
    both = dataclasses.replace(RULES, protected_stages=("production", "staging"))
    assert _disagreements(both) == ["delete a staging model"]


def test_a_cel_error_is_not_taken_for_a_verdict() -> None:
    # GIVEN a validation that reads a label without a guard WHEN the label is absent
    # THEN celpy raises (Kyverno would fail the request) and the harness does not call it allowed
    policy = copy.deepcopy(render_policies()[0])
    policy["spec"]["validations"][0]["expression"] = "object.metadata.labels['nope'] == 'x'"
    with pytest.raises((AssertionError, celpy.CELEvalError)):
        denials(policy, admission_request("CREATE", isvc()))


# ---- the committed policies are the render --------------------------------------------------
@pytest.mark.parametrize("filename", sorted(policy_files()))
def test_committed_policy_files_are_the_render(filename: str) -> None:
    compare(GOVERNANCE / filename, policy_files()[filename], REGENERATE)


def test_the_kustomization_deploys_every_rendered_policy() -> None:
    listed = yaml.safe_load((GOVERNANCE / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(policy_files())
    on_disk = sorted(p.name for p in GOVERNANCE.glob("*policy.*.yaml"))
    assert on_disk == sorted(policy_files())


def test_each_policy_targets_both_kserve_kinds_and_denies() -> None:
    for policy in render_policies():
        rules = policy["spec"]["matchConstraints"]["resourceRules"]
        assert [r["resources"] for r in rules] == [["inferenceservices"], ["llminferenceservices"]]
        assert policy["spec"]["validationActions"] == ["Deny"]
        for validation in policy["spec"]["validations"]:
            assert kyverno.rule_of(validation["message"]) in CLUSTER_RULES


def test_an_unapproved_production_llm_is_refused_before_rendering() -> None:
    from llm.deploy._specs import spec as llm_spec
    from llm.deploy._specs import unapproved
    from mlplatform.errors import PromotionRejectedError
    from mlplatform.llm.deploy import check

    with pytest.raises(PromotionRejectedError, match=r"production\.approval") as refused:
        check(llm_spec("gcp", stage="production", facts=unapproved()))
    assert "mlp models approve" in (refused.value.details or "")
