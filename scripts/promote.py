#!/usr/bin/env python3
"""Promote a platform revision to staging or prod (``make promote ENV=staging REV=v1.4.0``).

dev follows main; staging and prod follow the revision in
``infrastructure/environments/<env>.yaml``, which Argo CD's ApplicationSet reads from main.
This command resolves REV (a tag or a commit) to its commit, refuses a prod promotion of a
commit that was never promoted to staging, writes the environment file and appends the
promotion to ``infrastructure/environments/promotions.yaml``. Commit both files and open a
pull request: the merge is the promotion (prod then waits for a manual sync, see
docs/environments.md).

Exits 0 when promoted, 2 when refused (the reason and what to do on stderr).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mlplatform.atomicfile import atomic_write_text  # noqa: E402
from mlplatform.errors import ConfigError  # noqa: E402

FOLLOWS_MAIN = "dev"
PROMOTED = ("staging", "prod")
PREVIOUS = {"staging": None, "prod": "staging"}
_SHA = re.compile(r"[0-9a-f]{40}")


def environments_dir(repo: Path) -> Path:
    return repo / "infrastructure" / "environments"


def known_environments(repo: Path) -> list[str]:
    folder = environments_dir(repo)
    return sorted(
        p.stem for p in folder.glob("*.yaml") if p.stem not in ("promotions", "differences")
    )


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


def resolve(repo: Path, revision: str) -> tuple[str, str]:
    """(revision to record, commit): a tag is recorded as the tag, anything else as its commit."""
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if not _SHA.fullmatch(commit):
        raise ConfigError(
            f"revision {revision!r} is not a commit or tag of this repository",
            "Fetch it first (git fetch --tags origin), or pass a commit SHA or tag from "
            "`git log --oneline` / `git tag`.",
        )
    is_tag = bool(_git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{revision}"))
    return (revision if is_tag else commit), commit


def load_promotions(repo: Path) -> list[dict[str, Any]]:
    path = environments_dir(repo) / "promotions.yaml"
    if not path.is_file():
        return []
    entries: list[dict[str, Any]] = (yaml.safe_load(path.read_text()) or {}).get("promotions") or []
    return entries


def check_environment(repo: Path, environment: str) -> None:
    known = known_environments(repo)
    if environment == FOLLOWS_MAIN:
        raise ConfigError(
            "dev is not promoted: it follows main",
            "Merge to main to change dev; promote to staging with "
            "`make promote ENV=staging REV=<tag|commit>`.",
        )
    if environment not in PROMOTED or environment not in known:
        raise ConfigError(
            f"unknown environment {environment!r}",
            f"Use one of {', '.join(PROMOTED)} (the environments are "
            f"{', '.join(known) or 'missing'}: infrastructure/environments/<env>.yaml).",
        )


def check_previous(repo: Path, environment: str, revision: str, commit: str) -> None:
    """prod takes only a commit that staging was given before."""
    previous = PREVIOUS[environment]
    if previous is None:
        return
    ran = {e.get("commit") for e in load_promotions(repo) if e.get("environment") == previous}
    if commit not in ran:
        raise ConfigError(
            f"{revision} (commit {commit[:12]}) never ran in {previous}: refusing to promote it "
            f"to {environment}",
            f"Promote it to {previous} first (make promote ENV={previous} REV={revision}), let "
            f"Argo CD sync and check it there, then promote it to {environment}.",
        )


def promote(
    repo: Path, environment: str, revision: str, *, by: str | None = None
) -> dict[str, Any]:
    """Check, then write the environment file and append to the log; return the log entry."""
    check_environment(repo, environment)
    recorded, commit = resolve(repo, revision)
    check_previous(repo, environment, revision, commit)
    folder = environments_dir(repo)
    env_file = folder / f"{environment}.yaml"
    current = yaml.safe_load(env_file.read_text()) or {}
    header = "".join(line for line in env_file.read_text().splitlines(True) if line.startswith("#"))
    atomic_write_text(
        env_file, header + yaml.safe_dump({**current, "revision": recorded}, sort_keys=False)
    )
    entry = {
        "environment": environment,
        "revision": recorded,
        "commit": commit,
        "promoted_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "by": by or _git(repo, "config", "user.email") or getpass.getuser(),
    }
    log = folder / "promotions.yaml"
    text = log.read_text() if log.is_file() else "promotions:\n"
    addition = yaml.safe_dump([entry], sort_keys=False)
    atomic_write_text(
        log, text.rstrip("\n") + "\n" + "".join(f"  {line}\n" for line in addition.splitlines())
    )
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("environment", help="staging or prod")
    parser.add_argument("revision", help="a tag or a commit of this repository")
    parser.add_argument("--repo", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        entry = promote(args.repo, args.environment, args.revision)
    except ConfigError as exc:
        print(f"error: {exc.headline}\nhint: {exc.hint}", file=sys.stderr)
        return 2
    print(
        f"{entry['environment']} now follows {entry['revision']} (commit {entry['commit'][:12]}).\n"
        f"Commit infrastructure/environments/{entry['environment']}.yaml and promotions.yaml "
        "and open a pull request; once merged, Argo CD moves the layers"
        + (
            " and waits for a manual sync"
            " (argocd app sync -l app.kubernetes.io/part-of=mlplatform)."
            if entry["environment"] == "prod"
            else "."
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
