"""The MutatingPolicy that annotates every production admission with its approval, evaluated.

Kyverno evaluates a MutatingPolicy like a ValidatingPolicy up to its mutations: the
``matchConstraints`` and ``matchConditions`` select the request, the ``variables`` are computed
in order, and each ``JSONPatch`` mutation's CEL gives a list of RFC 6902 operations that are
applied to the object. Here that CEL runs in cel-python (the harness of test_kyverno_cel.py,
with the ``JSONPatch`` type and ``jsonpatch.escapeKey``) and the patch is applied by a small
RFC 6902 ``add``; the result must equal what ``kyverno.admission_record`` (the same facts read
in Python) says, on every admission fixture and on what ``mlp deploy`` renders.

Not evaluated here: Kyverno's own patch application and reinvocation, and cel-go's type check
of the expressions (no cluster and no Kyverno CLI offline).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import celpy
import pytest
from celpy import celtypes

from mlplatform.governance.kyverno import (
    ADMITTED_APPROVAL_ANNOTATION,
    ADMITTED_BY_ANNOTATION,
    STAGE_LABEL,
    admission_record,
    policy_files,
    render_admission_record,
)
from mlplatform.governance.rules import RULES, RuleId

from .test_kyverno_cel import (
    FIXTURES,
    _bare,
    _boolean,
    _cel,
    _matches,
    _rendered,
    admission_request,
    isvc,
)

Doc = dict[str, Any]
USER = "kubernetes-admin"  # the request's userInfo.username in admission_request


def mutate(policy: Doc, request: Doc) -> Doc | None:
    """The object after ``policy``'s mutations, or None when the policy does not apply."""
    if not _matches(policy, request):
        return None
    activation = {
        "object": celpy_json(request["object"]),
        "oldObject": celpy_json(request["oldObject"]),
        "request": celpy_json(
            {k: v for k, v in request.items() if k not in ("object", "oldObject")}
        ),
    }
    for condition in policy["spec"].get("matchConditions", []):
        if not _boolean(_cel(condition["expression"], activation), condition["expression"]):
            return None
    variables = celtypes.MapType()
    for variable in policy["spec"].get("variables", []):
        value = _cel(variable["expression"], {**activation, "variables": variables})
        variables = celtypes.MapType({**variables, celtypes.StringType(variable["name"]): value})
    patched = copy.deepcopy(request["object"])
    for mutation in policy["spec"]["mutations"]:
        assert mutation["patchType"] == "JSONPatch"
        expression = mutation["jsonPatch"]["expression"]
        for op in _cel(expression, {**activation, "variables": variables}):
            apply_add(patched, _plain(op))
    return patched


def celpy_json(value: Any) -> Any:
    return celpy.json_to_cel(value)


def _plain(value: Any) -> Any:
    """A celpy value as plain Python (a CEL error is a failure, not a value)."""
    if isinstance(value, Exception):
        raise AssertionError(f"the patch's CEL failed: {value!r}")
    if isinstance(value, celtypes.MapType | dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, celtypes.ListType | list):
        return [_plain(v) for v in value]
    if isinstance(value, celtypes.StringType):
        return str(value)
    return value


def apply_add(doc: Doc, op: Doc) -> None:
    """RFC 6902 ``add`` on an object member (what the policy's patches are): the parent must
    exist, the key is unescaped per RFC 6901."""
    assert op["op"] == "add", op
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    target = doc
    for key in parents:
        assert key in target, f"{op['path']}: {key!r} does not exist (the patch would fail)"
        target = target[key]
    target[last] = op["value"]


def expected(obj: Doc) -> Doc:
    """The object with the annotations the local side says the admission adds."""
    added = admission_record(obj, USER)
    if not added:
        return obj
    out = copy.deepcopy(obj)
    out["metadata"]["annotations"] = {**(out["metadata"].get("annotations") or {}), **added}
    return out


ADMISSIONS = {
    name: (operation, obj, old)
    for name, (operation, obj, old, _) in FIXTURES.items()
    if operation != "DELETE"
}


@pytest.mark.parametrize("name", ADMISSIONS)
def test_the_mutation_and_the_local_record_agree_on_every_admission(name: str) -> None:
    # GIVEN an admission request WHEN the MutatingPolicy's CEL runs and its patch is applied
    operation, obj, old = ADMISSIONS[name]
    request = admission_request(operation, obj, old)
    patched = mutate(render_admission_record(), request)
    # THEN the object is annotated exactly as the local record says (untouched outside
    # production: the policy does not apply)
    assert obj is not None
    assert (patched if patched is not None else obj) == expected(obj)


def test_a_production_admission_records_approver_ticket_semver_time_and_user() -> None:
    obj = isvc("production")
    patched = mutate(render_admission_record(), admission_request("CREATE", obj))
    assert patched is not None
    annotations = patched["metadata"]["annotations"]
    assert (
        annotations[ADMITTED_APPROVAL_ANNOTATION] == "bob/MLOPS-123/1.4.0/2026-08-01T10:00:00+00:00"
    )
    assert annotations[ADMITTED_BY_ANNOTATION] == USER
    # and nothing else changed
    rest = {k: v for k, v in annotations.items() if k.startswith("mlplatform.io/admitted")}
    assert (
        patched["metadata"]["annotations"].keys() - rest.keys()
        == obj["metadata"]["annotations"].keys()
    )


def test_a_production_object_without_annotations_gets_them_created() -> None:
    # GIVEN a production object with labels only (a patch to /metadata/annotations/x would fail)
    obj = _bare("LLMInferenceService")
    obj["metadata"]["labels"] = {STAGE_LABEL: "production"}
    patched = mutate(render_admission_record(), admission_request("CREATE", obj))
    assert patched is not None
    assert patched["metadata"]["annotations"] == {
        ADMITTED_APPROVAL_ANNOTATION: "///",
        ADMITTED_BY_ANNOTATION: USER,
    }


def test_deletes_and_other_stages_are_not_mutated() -> None:
    policy = render_admission_record()
    assert mutate(policy, admission_request("DELETE", None, isvc("production"))) is None
    for stage in ("staging", "development", "archived"):
        assert mutate(policy, admission_request("CREATE", isvc(stage))) is None


@pytest.mark.parametrize("name", ["model, production approved", "llm, production approved"])
def test_what_mlp_deploy_renders_for_production_is_annotated_with_its_registry_approval(
    name: str,
) -> None:
    obj = _rendered()[name]
    patched = mutate(render_admission_record(), admission_request("CREATE", obj))
    assert patched == expected(obj)
    assert patched is not None
    record = patched["metadata"]["annotations"][ADMITTED_APPROVAL_ANNOTATION]
    assert record.startswith("ada/CHG-1042/1.3.0/2026-08-01")


def test_the_comparison_can_fail() -> None:
    # GIVEN a policy rendered as if staging needed an approval too
    staged = dataclasses.replace(
        RULES,
        requirements=tuple(
            dataclasses.replace(r, rules=(*r.rules, RuleId.APPROVAL)) if r.stage == "staging" else r
            for r in RULES.requirements
        ),
    )
    obj = isvc("staging")
    patched = mutate(render_admission_record(staged), admission_request("CREATE", obj))
    # THEN the staging object is annotated, and the platform's local record disagrees
    assert patched is not None
    assert patched != expected(obj)


def test_the_mutating_policy_validates_against_the_vendored_kyverno_schema() -> None:
    from infrastructure.kubernetes._manifests import script

    policy = render_admission_record()
    assert list(script().schema_errors(policy)) == []
    broken = copy.deepcopy(policy)
    broken["spec"]["mutations"][0]["jsonPatch"]["expresion"] = "[]"  # the schema bites
    assert list(script().schema_errors(broken))


def test_the_base_build_deploys_the_mutating_policy_as_rendered() -> None:
    from infrastructure.kubernetes._manifests import built, one

    policy = render_admission_record()
    assert one(built("base"), "MutatingPolicy", policy["metadata"]["name"]) == policy
    assert f"mutatingpolicy.{policy['metadata']['name']}.yaml" in policy_files()
