"""An editable checkout and a wheel install compute the same cache keys.

The platform image and CI runners install mlplatform as a wheel; developers work in an editable
checkout. This test builds the wheel, installs it (without dependencies) into a second venv that
borrows this venv's libraries through a plain ``.pth`` path line (so this venv's editable-install
``.pth`` is not processed and the wheel's mlplatform is the one imported), and runs the same
commands in one project folder with both: the keys `mlp pipeline plan` prints and the YAML
`mlp pipeline compile` writes (it carries every step's code component) must be equal.

Before the install-independent rule, the wheel's component modules counted as libraries (they
sit in site-packages) and the checkout's as project code, so the keys of ``register`` (which
imports ``mlplatform.drift``) and ``validate`` differed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PURELIB = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
PROBE = """
import json, sys, sysconfig
import mlplatform, mlplatform.components.register
from mlplatform.pipelines.codehash import project_modules
mods = project_modules("mlplatform.components.register")
print(json.dumps({
    "mlplatform": mlplatform.__file__,
    "site": sysconfig.get_paths()["purelib"],
    "drift": str(mods.get("mlplatform.drift.profile")),
}))
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with mlplatform installed from a freshly built wheel; returns its bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = _clean_env()
    uv = [sys.executable, "-m", "uv"]
    _run([*uv, "build", "--wheel", "-q", "-o", str(tmp / "dist"), str(REPO)], tmp, env)
    (wheel,) = (tmp / "dist").glob("mlplatform-*.whl")
    venv = tmp / "venv"
    _run([*uv, "venv", "-q", "--python", sys.executable, str(venv)], tmp, env)
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env
    )
    # a plain path line: the libraries are importable, this venv's .pth files are not processed
    Path(purelib.strip(), "_borrowed_libraries.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    _run([*uv, "pip", "install", "-q", "--no-deps", "--python", str(python), str(wheel)], tmp, env)
    return venv / "bin"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("project")
    (folder / "requirements").mkdir()
    shutil.copy(REPO / "requirements" / "lock.txt", folder / "requirements" / "lock.txt")
    return folder


def test_the_wheel_venv_imports_mlplatform_from_the_wheel(wheel_venv, project):
    # GIVEN the second venv WHEN it imports mlplatform
    probe = json.loads(_run([str(wheel_venv / "python"), "-c", PROBE], project, _clean_env()))
    site = Path(probe["site"]).resolve()
    # THEN the package comes from its site-packages, not from src/
    assert Path(probe["mlplatform"]).resolve().is_relative_to(site), probe
    assert not Path(probe["mlplatform"]).resolve().is_relative_to(REPO / "src"), probe
    # AND the platform's drift module, in site-packages there, is still hashed by source (the
    # old rule skipped every file in site-packages, which is what split the keys)
    assert Path(probe["drift"]).resolve().is_relative_to(site), probe


@pytest.mark.parametrize(
    "command",
    [
        ["pipeline", "plan", "standard-training", "--format", "json"],
        ["pipeline", "compile", "standard-training", "--cloud", "aws"],
    ],
    ids=["plan", "compile"],
)
def test_editable_and_wheel_installs_compute_the_same_keys(wheel_venv, project, command):
    # WHEN the same command runs in the same project folder with each install
    env = _clean_env()
    editable = _run([str(BIN / "mlp"), *command], project, env)
    wheel = _run([str(wheel_venv / "mlp"), *command], project, env)

    # THEN the output, keys included, is the same
    assert "key" in editable or "cache-key" in editable
    assert wheel == editable
    if command[1] == "plan":
        keys = [e["key"] for e in json.loads(editable) if e["key"]]
        assert keys, editable  # at least one step has a key to compare
