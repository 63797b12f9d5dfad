"""A pod refuses to run code or an environment that differs from the compiled key.

The compiled key's code and env components come from the compiling machine; the pod runs what
its image holds. These tests compile a small pipeline, then play the pod as Argo would start it
(the container's command and args, its env, a fresh process) on a project tree that was changed
after compiling: the launcher must refuse, naming the image and both hashes, and leave nothing
in the store. The unchanged tree runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mlplatform.pipelines import launcher
from mlplatform.pipelines.argo import CompileOptions, compile_pipeline
from mlplatform.pipelines.argo.templates import OUTPUTS_DIR
from mlplatform.pipelines.cache import inputs_hash, key_of
from mlplatform.pipelines.discovery import discover, file_module_name

from .._helpers import environ_without, run_container
from ._compile import REPO, container_templates
from .conftest import POD_CACHE_KEY

HELPER = "podcheck_helpers"
FLOW = f"""
from mlplatform import pipeline, step

from {HELPER} import double


@step
def make(n: int) -> int:
    return double(n)


@step
def add(x: int, k: int = 1) -> int:
    return x + k


@pipeline(name="podcheck")
def podcheck(n: int = 3) -> None:
    add(make(n))


@step(data=("path",))
def count(path: str) -> int:
    with open(path) as f:
        return len(f.readlines())


@pipeline(name="podcheck-data")
def podcheck_data(path: str = "rows.csv") -> None:
    count(path)
"""
IMAGE = "registry.example/mlp/mlplatform:0.1.0"
DIGEST = "sha256:" + "ab" * 32
ROWS = "a\n1\n2\n"


def _forget() -> None:
    for name in (file_module_name(Path("flow.py")), HELPER):
        sys.modules.pop(name, None)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    (tmp_path / f"{HELPER}.py").write_text("def double(n):\n    return n * 2\n")
    (tmp_path / "rows.csv").write_text(ROWS)
    _forget()
    yield tmp_path
    _forget()


def compile_make(
    project: Path, pipeline: str = "podcheck", step: str = "make", **options: Any
) -> dict[str, Any]:
    """The compiled template of ``step``, from the tree as it is now."""
    _forget()
    graph = discover(["flow.py"])[pipeline].graph
    opts = CompileOptions(image=IMAGE, store_root=str(project / "store"), **options)
    (template,) = [
        t
        for t in container_templates(compile_pipeline(graph, {}, opts))
        if t["name"] == f"step-{step}"
    ]
    return template


def components(template: dict[str, Any]) -> dict[str, str]:
    args = template["container"]["args"]
    spec: dict[str, Any] = json.loads(args[args.index("--argo-spec") + 1])
    return dict(spec["components"])


SECRETS = {("mlplatform-cache-key", "key"): POD_CACHE_KEY}


def pod_value(entry: dict[str, Any]) -> str | None:
    """An env entry's value as the kubelet sets it: literal, or read from the Secret."""
    if "value" in entry:
        return str(entry["value"])
    ref = entry["valueFrom"]["secretKeyRef"]
    return SECRETS[(ref["name"], ref["key"])]


def run_pod(
    template: dict[str, Any], project: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """Start the template's container as Argo would: its command, args and env, in a new
    process (so it imports the tree as it is now), with the project as working directory."""
    container = template["container"]
    args = [
        a.replace("{{workflow.name}}", "podcheck-x7k2p").replace(
            OUTPUTS_DIR, str(project / "outputs")
        )
        for a in container["args"]
    ]
    base = environ_without("MLPLATFORM_")
    pod_env = {**base, **{e["name"]: pod_value(e) for e in container.get("env", [])}, **env}
    pod_env = {k: v for k, v in pod_env.items() if v is not None}
    return run_container(container, args, project, pod_env, timeout=120)


def store_files(project: Path) -> list[str]:
    store = project / "store"
    return (
        sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file())
        if store.exists()
        else []
    )


def test_the_unchanged_tree_runs_in_the_pod(project):
    # GIVEN a compiled step WHEN its pod runs the tree it was compiled from
    template = compile_make(project)
    proc = run_pod(template, project)

    # THEN it runs, writes its output and cache entry, and outputs its key
    assert proc.returncode == 0, proc.stderr
    assert "step make: ok" in proc.stdout
    files = store_files(project)
    assert any(f.startswith("cache/") for f in files), files
    assert any(f.startswith("objects/") for f in files), files
    assert (project / "outputs" / "cache-key").is_file()


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [("flow.py", "return double(n)", "return double(n) + 1"), (f"{HELPER}.py", "n * 2", "n * 3")],
    ids=["step-source", "imported-helper"],
)
def test_a_pod_running_other_code_refuses_and_writes_nothing(project, file, old, new):
    # GIVEN a workflow compiled from the tree
    template = compile_make(project)
    compiled = components(template)["code"]

    # WHEN the tree the pod runs differs from the compiled one (a stale image)
    path = project / file
    path.write_text(path.read_text().replace(old, new))
    now = components(compile_make(project))["code"]
    assert now != compiled
    proc = run_pod(template, project)

    # THEN the step fails with an error naming the image and both code hashes
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = " ".join(proc.stderr.split())  # the printer may wrap long lines
    assert f"step 'make' refused: image {IMAGE} does not run what was compiled" in err
    assert "(key component differs: code)" in err
    assert f"code: compiled {compiled}, image {now}" in err
    assert "docker build" in err  # the hint says how to make them agree
    # AND nothing was written: no cache entry, no object, no output parameter
    assert store_files(project) == []
    assert not (project / "outputs").exists()


def test_a_pod_with_another_lock_file_refuses(project):
    # GIVEN a workflow compiled with the project's lock file
    (project / "requirements").mkdir()
    (project / "requirements" / "lock.txt").write_text("numpy==2.1.0\n")
    template = compile_make(project, lock_file=Path("requirements/lock.txt"))
    compiled = components(template)["env"]

    # WHEN the image's lock file (MLPLATFORM_LOCK_FILE) pins something else
    (project / "image.lock").write_text("numpy==2.2.0\n")
    proc = run_pod(template, project, MLPLATFORM_LOCK_FILE=str(project / "image.lock"))

    # THEN the step is refused on the env component, naming both hashes and the image's env
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = " ".join(proc.stderr.split())
    assert "(key component differs: env)" in err
    assert f"env: compiled {compiled}, image " in err
    assert re.search(r"env: compiled [0-9a-f]{64}, image [0-9a-f]{64}", err)
    assert "MLPLATFORM_LOCK_FILE" in err
    assert store_files(project) == []


def test_a_pod_with_the_same_lock_at_another_path_runs(project):
    # GIVEN a workflow compiled with the project's lock file
    (project / "requirements").mkdir()
    (project / "requirements" / "lock.txt").write_text("numpy==2.1.0\n")
    template = compile_make(project, lock_file=Path("requirements/lock.txt"))

    # WHEN the image carries the same lock at its own path (as /app/requirements/lock.txt)
    (project / "image").mkdir()
    (project / "image" / "lock.txt").write_text("numpy==2.1.0\n")
    proc = run_pod(template, project, MLPLATFORM_LOCK_FILE=str(project / "image" / "lock.txt"))

    # THEN it runs: the env component hashes the lock's bytes, not its path
    assert proc.returncode == 0, proc.stderr


def test_a_pod_keys_on_the_data_it_reads_not_on_the_compiled_fingerprint(project):
    # GIVEN a workflow whose step declares a data parameter, compiled with the data as it was
    template = compile_make(project, "podcheck-data", "count")
    compiled = components(template)
    # (its template cannot memoize on a key baked at compile time)
    assert "memoize" not in template

    # WHEN the data changes before the pod runs (a scheduled workflow's source gets new rows)
    (project / "rows.csv").write_text("a\n1\n2\n3\n")
    proc = run_pod(template, project)

    # THEN the pod runs (data is fingerprinted again in the pod, not refused like code) and
    # keys its result on the bytes it read: the key is not the one the compiled data gives
    assert proc.returncode == 0, proc.stdout + proc.stderr
    key = (project / "outputs" / "cache-key").read_text()
    stale = key_of({**compiled, "inputs": inputs_hash({})})
    assert key != stale
    assert f"cache/{key[:2]}/{key}.json" in store_files(project)

    # AND with the data as compiled, the pod's key is the compiled one
    (project / "rows.csv").write_text(ROWS)
    (project / "outputs" / "cache-key").unlink()
    assert run_pod(template, project).returncode == 0
    assert (project / "outputs" / "cache-key").read_text() == stale


def test_a_pod_without_the_cache_key_secret_refuses(project):
    # GIVEN a compiled step WHEN its pod has no signing key (no Secret value)
    template = compile_make(project)
    proc = run_pod(template, project, MLPLATFORM_CACHE_KEY="")

    # THEN it refuses, names the variable and how to create the Secret, and writes nothing
    assert proc.returncode == 1
    err = " ".join(proc.stderr.split())
    assert "MLPLATFORM_CACHE_KEY is not set" in err
    assert "kubectl create secret generic mlplatform-cache-key" in err
    assert store_files(project) == []


def test_the_template_tells_the_pod_its_image(project):
    # GIVEN a workflow compiled with a pinned image
    template = compile_make(project, image_digest=DIGEST)
    env = {e["name"]: e["value"] for e in template["container"]["env"] if "value" in e}

    # THEN the container's env names the exact image it runs, for the launcher's error
    assert env[launcher.IMAGE_ENV] == template["container"]["image"]
    assert env[launcher.IMAGE_ENV] == f"registry.example/mlp/mlplatform@{DIGEST}"


def test_the_platform_image_points_the_launcher_at_its_lock_file(monkeypatch):
    # GIVEN the Dockerfile: installed from requirements/lock.txt, copied to WORKDIR /app
    text = (REPO / "Dockerfile").read_text()
    assert "-r requirements/lock.txt" in text
    runtime = text.rsplit("\nFROM ", 1)[1]  # the final stage, the one pods run
    assert "WORKDIR /app" in runtime
    assert "COPY requirements/lock.txt requirements/lock.txt" in runtime

    # THEN it names that file in the variable the launcher reads, which is also the setting
    # `mlp pipeline compile` reads on a laptop (one name for "the lock file of the key")
    assert f"ENV {launcher.LOCK_ENV}=/app/requirements/lock.txt" in runtime
    from mlplatform.settings import Settings

    monkeypatch.setenv(launcher.LOCK_ENV, "/app/requirements/lock.txt")
    assert Settings().lock_file == Path("/app/requirements/lock.txt")
