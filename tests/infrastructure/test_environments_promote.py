"""`make promote` (scripts/promote.py) on a real git repository in a temporary folder.

GIVEN a repository with environment files and commits WHEN a revision is promoted THEN staging
takes any commit or tag, prod only a commit staging had, and bad input is refused with the
reason and a hint, the files unchanged."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from mlplatform.errors import ConfigError

from ._tree import REPO


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("promote", REPO / "scripts" / "promote.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


promote = _script()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    assert shutil.which("git"), "git is not installed: apt-get install git"
    shutil.copytree(
        REPO / "infrastructure" / "environments", tmp_path / "infrastructure" / "environments"
    )
    log = tmp_path / "infrastructure" / "environments" / "promotions.yaml"
    log.write_text("promotions:\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    for message in ("one", "two"):
        _git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t",
             "commit", "-q", "--allow-empty", "-m", message)  # fmt: skip
    _git(tmp_path, "tag", "v1.0.0", "HEAD~1")
    return tmp_path


def _env(repo: Path, name: str) -> dict:
    return yaml.safe_load((repo / "infrastructure" / "environments" / f"{name}.yaml").read_text())


def test_a_tag_goes_to_staging_then_to_prod(repo: Path) -> None:
    entry = promote.promote(repo, "staging", "v1.0.0", by="me")
    assert _env(repo, "staging")["revision"] == "v1.0.0"
    assert entry["commit"] == _git(repo, "rev-parse", "v1.0.0^{commit}")
    promote.promote(repo, "prod", entry["commit"], by="me")
    assert _env(repo, "prod")["revision"] == entry["commit"]
    log = yaml.safe_load((repo / "infrastructure/environments/promotions.yaml").read_text())
    assert [e["environment"] for e in log["promotions"]] == ["staging", "prod"]
    assert (repo / "infrastructure/environments/prod.yaml").read_text().startswith("# The prod")


def test_prod_refuses_a_revision_that_never_ran_in_staging(repo: Path) -> None:
    promote.promote(repo, "staging", "v1.0.0", by="me")
    before = _env(repo, "prod")
    with pytest.raises(ConfigError, match="never ran in staging") as caught:
        promote.promote(repo, "prod", "HEAD", by="me")
    assert "make promote ENV=staging REV=HEAD" in caught.value.hint
    assert _env(repo, "prod") == before


@pytest.mark.parametrize(("environment", "reason"), [("qa", "unknown environment"),
                                                      ("dev", "follows main")])  # fmt: skip
def test_unknown_environments_and_dev_are_refused(
    repo: Path, environment: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        promote.promote(repo, environment, "HEAD")
    assert "ENV=staging" in caught.value.hint or "staging, prod" in caught.value.hint


def test_an_unknown_revision_is_refused(repo: Path) -> None:
    with pytest.raises(ConfigError, match="not a commit or tag"):
        promote.promote(repo, "staging", "v9.9.9")


def test_the_command_exits_2_with_the_reason(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert promote.main(["prod", "HEAD", "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "never ran in staging" in err
    assert "hint:" in err
    assert promote.main(["staging", "HEAD", "--repo", str(repo)]) == 0
    assert promote.main(["prod", "HEAD", "--repo", str(repo)]) == 0
