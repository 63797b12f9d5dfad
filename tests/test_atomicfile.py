"""Atomic local writes: the target appears whole or not at all, durably, with its mode."""

from __future__ import annotations

import ast
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlplatform import atomicfile
from mlplatform.atomicfile import atomic_path, atomic_write_bytes, atomic_write_text, is_temporary

SRC = Path(__file__).resolve().parents[1] / "src" / "mlplatform"

# Modules allowed to rename files, each with the reason. Everyone else uses atomicfile.
RENAMERS = {
    "atomicfile.py": "the helper itself",
    "llm/bench_script.py": "runs in the LLM venv, where mlplatform is not importable",
}


@pytest.fixture
def umask() -> Iterator[int]:
    old = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(old)


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if is_temporary(p)]


def test_public_api_is_pinned():
    assert atomicfile.__all__ == [
        "atomic_folder",
        "atomic_path",
        "atomic_write_bytes",
        "atomic_write_text",
        "is_temporary",
    ]


def test_bytes_and_text_replace_the_whole_file(tmp_path):
    # GIVEN an existing file
    target = tmp_path / "out.json"
    target.write_bytes(b"old content, longer than the new one")

    # WHEN it is rewritten as bytes, then as text
    assert atomic_write_bytes(target, b"\x00new") == target
    assert target.read_bytes() == b"\x00new"
    assert atomic_write_text(str(target), "grüße") == target

    # THEN it holds exactly the last content (UTF-8), and no temporary file is left
    assert target.read_bytes() == "grüße".encode()
    assert temp_files(tmp_path) == []


def test_an_error_in_the_block_leaves_the_old_file_and_no_temporary_file(tmp_path):
    # GIVEN a file, and a writer that fails half-way
    target = tmp_path / "profile.npz"
    target.write_bytes(b"old")

    def fail_half_way() -> None:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            assert temp_files(tmp_path) == [tmp]
            raise RuntimeError("killed")

    # WHEN the block raises after writing part of the new content
    with pytest.raises(RuntimeError, match="killed"):
        fail_half_way()

    # THEN the target is untouched and the temporary file is gone
    assert target.read_bytes() == b"old"
    assert temp_files(tmp_path) == []


def test_a_new_file_does_not_exist_until_the_block_succeeds(tmp_path):
    target = tmp_path / "new.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("x")
        assert not target.exists()
    assert target.read_text() == "x"


def test_a_missing_folder_raises_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "absent" / "f.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_the_file_is_synced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    # GIVEN an fsync that records what it synced and what the target held at that moment
    # (durability cannot be observed without a power cut, so the calls are checked)
    target = tmp_path / "state.json"
    target.write_text("old")
    synced: list[tuple[int, bool, str]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        info = os.fstat(fd)
        synced.append((info.st_ino, stat.S_ISDIR(info.st_mode), target.read_text()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)

    # WHEN the file is rewritten
    atomic_write_text(target, "new")

    # THEN the new file was synced while the target still held the old content, then the
    # folder after the rename
    assert synced == [
        (target.stat().st_ino, False, "old"),
        (tmp_path.stat().st_ino, True, "new"),
    ]


def test_a_requested_mode_holds_from_creation(tmp_path, umask):
    # GIVEN a secret to write with mode 0600 (the umask alone would give 0644)
    target = tmp_path / "credentials.json"

    # WHEN it is written THEN the temporary file is 0600 from the start, and so is the target
    with atomic_path(target, mode=0o600) as tmp:
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o600
        tmp.write_text("secret")
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    # AND replacing a world-readable file does not keep its mode
    target.chmod(0o644)
    atomic_write_text(target, "secret 2", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_the_mode_is_exact_and_the_default_follows_the_umask(tmp_path, umask):
    atomic_write_text(tmp_path / "shared", "x", mode=0o664)
    atomic_write_text(tmp_path / "plain", "x")
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o664
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o666 & ~umask


def test_concurrent_writers_use_their_own_temporary_files(tmp_path):
    # GIVEN two writers of one target at once
    target = tmp_path / "k.json"
    with atomic_path(target) as first, atomic_path(target) as second:
        # THEN each has its own temporary file
        assert first != second
        assert sorted(temp_files(tmp_path)) == sorted([first, second])
        first.write_text("first")
        second.write_text("second")
    # AND the last to finish wins, whole
    assert target.read_text() == "first"


def test_many_threads_writing_one_file_leave_one_whole_payload(tmp_path):
    # GIVEN threads that each rewrite one target with their own large payload
    target = tmp_path / "k"
    payloads = [bytes([i]) * 200_000 for i in range(4)]
    errors: list[BaseException] = []

    def writer(data: bytes) -> None:
        try:
            for _ in range(20):
                atomic_write_bytes(target, data)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()

    # WHEN a reader reads meanwhile
    seen = []
    while any(t.is_alive() for t in threads):
        if target.exists():
            seen.append(target.read_bytes())
    for t in threads:
        t.join()

    # THEN every read and the final file is one whole payload; no temporary file is left
    assert errors == []
    assert [len(s) for s in seen if s not in payloads] == []
    assert target.read_bytes() in payloads
    assert temp_files(tmp_path) == []


def test_temporary_names_are_recognised(tmp_path):
    with atomic_path(tmp_path / "report.html") as tmp:
        assert is_temporary(tmp)
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".report.html.")
    assert not is_temporary(tmp_path / "report.html")
    assert not is_temporary(tmp_path / "notes.tmp")


def _renames(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Calls that rename a file: ``os.replace/rename/renames``, ``shutil.move``,
    ``Path.replace/rename`` (one positional argument, no keywords: not ``str.replace``,
    ``dataclasses.replace`` or ``DataFrame.rename(columns=...)``), and ``from os import``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in {"os", "shutil"}:
            for alias in node.names:
                if alias.name in {"replace", "rename", "renames", "move"}:
                    yield node.lineno, f"from {node.module} import {alias.name}"
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        attr, owner = node.func.attr, node.func.value
        module = owner.id if isinstance(owner, ast.Name) else ""
        if module == "os" and attr in {"replace", "rename", "renames"}:
            yield node.lineno, f"os.{attr}"
        elif module == "shutil" and attr == "move":
            yield node.lineno, "shutil.move"
        elif attr in {"replace", "rename"} and len(node.args) == 1 and not node.keywords:
            yield node.lineno, f".{attr}(...)"


def test_only_the_helper_renames_files():
    # GIVEN every module under src/ WHEN scanned for file renames
    found = [
        f"{path.relative_to(SRC)}:{line}: {call}"
        for path in sorted(SRC.rglob("*.py"))
        if str(path.relative_to(SRC)) not in RENAMERS
        for line, call in _renames(ast.parse(path.read_text(), str(path)))
    ]
    # THEN there are none: write through mlplatform.atomicfile (or add to RENAMERS, with why)
    assert found == []


def test_the_rename_scan_sees_the_forms_it_forbids():
    code = "os.replace(a, b)\nos.rename(a, b)\ntmp.replace(out)\nshutil.move(a, b)\n"
    code += "from os import replace\ns.replace('a', 'b')\ndataclasses.replace(o, x=1)\n"
    code += "df.rename(columns=f)\n"
    assert [call for _, call in sorted(_renames(ast.parse(code)))] == [
        "os.replace",
        "os.rename",
        ".replace(...)",
        "shutil.move",
        "from os import replace",
    ]


def test_a_folder_appears_whole_or_not_at_all(tmp_path):
    # GIVEN a folder written through atomic_folder
    target = tmp_path / "model"
    with atomicfile.atomic_folder(target) as tmp:
        (tmp / "a.json").write_text("{}")
        assert not target.exists()  # not visible while being written
    # THEN it is there, whole, and no temporary folder is left
    assert (target / "a.json").read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]

    # AND a failed write leaves nothing, and an existing folder is never replaced
    def fail_halfway() -> None:
        with atomicfile.atomic_folder(tmp_path / "broken") as tmp:
            (tmp / "half.bin").write_bytes(b"x")
            raise RuntimeError("step failed")

    with pytest.raises(RuntimeError):
        fail_halfway()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    with pytest.raises(FileExistsError), atomicfile.atomic_folder(target):
        pass
