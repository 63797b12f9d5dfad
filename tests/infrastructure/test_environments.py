"""dev, staging and prod on every cloud: the overlays build and validate, the ApplicationSet
generates exactly the expected Applications, and the environments differ only where
infrastructure/environments/differences.yaml (the docs' table) says.

GIVEN the repository's environments WHEN built, evaluated and compared THEN each cluster gets
its layers at its environment's revision, prod syncs only by hand, and no value differs that
the table does not list."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ._applicationset import EvaluationError, applications
from ._environments import (
    ENVIRONMENTS,
    MISSING,
    PROMOTED,
    ROOTS,
    differences,
    effective_inputs,
    environment_file,
    flatten,
    lookup,
    root,
    terraform_rows,
    variable_defaults,
)
from ._tree import CLOUDS, REPO, TERRAFORM, parse
from .kubernetes._manifests import KUSTOMIZE, built, find, one, script

CELLS = [(c, e) for c in CLOUDS for e in ENVIRONMENTS]
LAYERS = ("namespaces", "security", "governance", "monitoring", "autoscaling", "models")


def _overlay(cloud: str, environment: str) -> tuple[dict, ...]:
    return built(f"overlays/{cloud}/{environment}")


# --- overlays ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("cloud", "environment"), CELLS)
def test_every_cloud_and_environment_overlay_builds_and_validates(
    cloud: str, environment: str, crd_schemas: object
) -> None:
    docs = _overlay(cloud, environment)
    problems = [f"{script().ident(d)} {m}" for d in docs for m in script().errors(d)]
    assert problems == []
    assert f"overlays/{cloud}/{environment}" in script().TARGETS
    assert len(docs) >= 60


@pytest.mark.parametrize(("cloud", "environment"), CELLS)
def test_an_environment_is_its_cloud_with_an_applicationset_for_the_layer_applications(
    cloud: str, environment: str
) -> None:
    ident = script().ident
    plain = {ident(d) for d in built(f"overlays/{cloud}")}
    layers = {f"Application/argocd/{name}" for name in LAYERS}
    expected = (plain - layers) | {"ApplicationSet/argocd/platform-layers"}
    assert {ident(d) for d in _overlay(cloud, environment)} == expected


def test_no_yaml_is_copied_into_the_environment_overlays() -> None:
    files = [
        p for c in CLOUDS for e in ENVIRONMENTS for p in (KUSTOMIZE / "overlays" / c / e).rglob("*")
    ]
    assert files
    assert all(p.is_dir() or p.name == "kustomization.yaml" for p in files)


# --- the ApplicationSet -----------------------------------------------------------------------


def _generated(cloud: str, environment: str) -> list[dict]:
    appset = one(_overlay(cloud, environment), "ApplicationSet", "platform-layers")
    return applications(appset, REPO)


def _revision(environment: str) -> str:
    return str(yaml.safe_load(environment_file(environment).read_text())["revision"])


@pytest.mark.parametrize(("cloud", "environment"), CELLS)
def test_the_applicationset_generates_exactly_the_layer_applications(
    cloud: str, environment: str, crd_schemas: object
) -> None:
    apps = {a["metadata"]["name"]: a for a in _generated(cloud, environment)}
    # the same Applications, paths, waves and prune rules the static layers of the cloud had
    static = {a["metadata"]["name"]: a for a in find(built(f"overlays/{cloud}"), "Application")}
    assert sorted(apps) == sorted(LAYERS)
    revision = _revision(environment)
    assert (
        revision == "main" if environment == "dev" else re.fullmatch(r"[0-9a-f]{40}|v.+", revision)
    )
    for name, app in apps.items():
        assert list(script().errors(app)) == [], name
        source, before = app["spec"]["source"], static[name]["spec"]
        assert source["path"] == before["source"]["path"]
        assert source["targetRevision"] == revision
        assert app["spec"]["destination"] == before["destination"]
        assert app["spec"]["syncPolicy"]["automated"] == before["syncPolicy"]["automated"]
        assert app["metadata"]["annotations"] == static[name]["metadata"]["annotations"]
        assert app["metadata"]["labels"]["mlplatform.io/environment"] == environment
        (component,) = source["kustomize"]["components"]
        folder = (REPO / source["path"] / component).resolve()
        assert folder == KUSTOMIZE / "components" / "environments" / environment


def test_dev_follows_main_and_staging_and_prod_a_promoted_revision() -> None:
    assert _revision("dev") == "main"
    for environment in PROMOTED:
        assert _revision(environment) != "main"


def test_the_evaluator_fails_on_what_it_does_not_model(tmp_path: Path) -> None:
    appset = copy.deepcopy(one(_overlay("aws", "prod"), "ApplicationSet", "platform-layers"))
    broken = copy.deepcopy(appset)
    broken["spec"]["template"]["metadata"]["name"] = "{{.layr}}"
    with pytest.raises(EvaluationError, match="layr"):
        applications(broken, REPO)
    broken = copy.deepcopy(appset)
    broken["spec"]["generators"][0]["matrix"]["generators"][1] = {"clusters": {}}
    with pytest.raises(EvaluationError, match="not modelled"):
        applications(broken, REPO)
    # and a missing environment file generates nothing: the cluster would lose its layers
    assert applications(appset, tmp_path) == []


def test_prod_syncs_only_by_hand_and_staging_and_dev_automatically() -> None:
    for cloud in CLOUDS:
        for environment in ENVIRONMENTS:
            project = one(_overlay(cloud, environment), "AppProject", "platform")
            windows = project["spec"].get("syncWindows", [])
            if environment == "prod":
                assert windows == [{"kind": "deny", "schedule": "* * * * *", "duration": "24h",
                                    "applications": ["*"], "manualSync": True}]  # fmt: skip
            else:
                assert windows == []


# --- what differs -----------------------------------------------------------------------------


def _normalized(path: Path, environment: str) -> object:
    text = path.read_text().replace(f"/{environment}/", "/ENV/")
    text = re.sub(rf"\b{environment}\b(?!-only| convenience)", "ENV", text, flags=re.IGNORECASE)
    return parse_text(text)


def parse_text(text: str) -> object:
    import io

    import hcl2

    from ._tree import _OPTIONS

    return hcl2.load(io.StringIO(text), serialization_options=_OPTIONS)


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("environment", PROMOTED)
def test_cluster_inputs_differ_from_dev_only_in_the_table(cloud: str, environment: str) -> None:
    rows = {row["input"]: row for row in terraform_rows(cloud, "cluster")}
    dev = dict(flatten(effective_inputs(cloud, "dev")))
    env = dict(flatten(effective_inputs(cloud, environment)))
    assert set(dev) == set(env)
    for key, value in env.items():
        if key in rows:
            assert value == rows[key][environment], key
            assert dev[key] == rows[key]["dev"], f"dev {key}"
        else:
            assert value == dev[key], f"{key} differs but is not in differences.yaml"


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("environment", PROMOTED)
@pytest.mark.parametrize("kind", ROOTS)
def test_root_files_equal_dev_but_for_the_name_and_the_table(
    cloud: str, environment: str, kind: str
) -> None:
    dev, env = root(cloud, "dev", kind), root(cloud, environment, kind)
    assert [p.name for p in dev.files] == [p.name for p in env.files]
    for dev_file, env_file in zip(dev.files, env.files, strict=True):
        left, right = _normalized(dev_file, "dev"), _normalized(env_file, environment)
        for tree in (left, right):  # table variables' defaults: compared below
            for block in tree.get("variable", []):
                for name in block:
                    if any(r.get("variable") == name for r in terraform_rows(cloud, kind)):
                        block[name].pop("default", None)
        if dev_file.name == "main.tf":  # module inputs: compared with the table above
            for tree in (left, right):
                for block in tree.get("module", []):
                    for call in block.values():
                        for key in [k for k in call if k != "source"]:
                            del call[key]
        assert left == right, f"{env_file.relative_to(TERRAFORM)} differs from dev"
    rows = {row["variable"]: row for row in terraform_rows(cloud, kind) if "variable" in row}
    dev_defaults = variable_defaults(cloud, "dev", kind)
    env_defaults = variable_defaults(cloud, environment, kind)
    for name, value in env_defaults.items():
        if name in rows:
            assert (dev_defaults[name], value) == (rows[name]["dev"], rows[name][environment])


def test_every_table_row_names_something_that_exists() -> None:
    for cloud in CLOUDS:
        for row in terraform_rows(cloud, "cluster"):
            assert lookup(effective_inputs(cloud, "dev"), row["input"]) is not MISSING, row
        for kind in ROOTS:
            for row in (r for r in terraform_rows(cloud, kind) if "variable" in r):
                assert row["variable"] in variable_defaults(cloud, "dev", kind), row


def _strip(doc: dict, rows: list[dict]) -> dict:
    doc = copy.deepcopy(doc)
    doc["metadata"].get("labels", {}).pop("mlplatform.io/environment", None)
    for row in rows:
        if "object" in row and script().ident(doc) == row["object"].replace("/", "/", 2):
            parent = lookup(doc, row["field"].rsplit(".", 1)[0])
            if isinstance(parent, dict):
                parent.pop(row["field"].rsplit(".", 1)[1], None)
            elif isinstance(parent, list):
                parent[int(row["field"].rsplit(".", 1)[1])] = None
    return doc


@pytest.mark.parametrize("cloud", CLOUDS)
def test_overlays_differ_from_dev_only_in_the_table(cloud: str) -> None:
    rows = differences()["kubernetes"]
    for environment in ENVIRONMENTS:
        docs = _overlay(cloud, environment)
        for row in rows:
            if "label" in row:
                assert {d["metadata"]["labels"][row["label"]] for d in docs} == {row[environment]}
                continue
            kind, namespace, name = row["object"].split("/")
            (doc,) = [d for d in find(docs, kind, name) if d["metadata"]["namespace"] == namespace]
            found = lookup(doc, row["field"])
            assert (None if found is MISSING else found) == row[environment], row["what"]
        # the root Application syncs its own environment's folder: the name aside, the same
        dev = {script().ident(d): _strip(d, rows) for d in _overlay(cloud, "dev")}
        env = {
            script().ident(d): json.loads(
                json.dumps(_strip(d, rows)).replace(f"/{cloud}/{environment}/", f"/{cloud}/dev/")
            )
            for d in docs
        }
        assert env == dev, environment


def test_the_new_terraform_roots_are_formatted() -> None:
    terraform = shutil.which("terraform")
    assert terraform, (
        "terraform is not installed: https://developer.hashicorp.com/terraform/install"
    )
    folders = [str(TERRAFORM / "environments" / c / e) for c in CLOUDS for e in PROMOTED]
    proc = subprocess.run([terraform, "fmt", "-check", "-recursive", *folders],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(isinstance(parse(p), dict) for f in folders for p in Path(f).rglob("*.tf"))
