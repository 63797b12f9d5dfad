"""What `mlp llm serve` makes of its MODEL arguments, and the local memory check (no engine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlplatform.errors import CapacityError, ConfigError
from mlplatform.llm.local.memory import (
    RUNTIME_GIB,
    available_gib,
    check_local_fit,
    local_need,
)
from mlplatform.llm.local.models import ServeOptions, engine_spec_for, split_served_name

from ._fake_checkpoint import expected_parameters, fake_checkpoint

MLP = Path(sys.executable).with_name("mlp")


def _no_registry(ref: str):
    raise AssertionError(f"a folder must not be looked up in the registry: {ref}")


def test_served_names_follow_the_name_rule():
    assert split_served_name("chat=./model") == ("chat", "./model")
    assert split_served_name("tiny-chat@champion") == (None, "tiny-chat@champion")
    with pytest.raises(ConfigError) as bad:
        split_served_name("no good=./model")
    assert "SERVED=REF" in bad.value.hint


def test_a_folder_is_served_as_itself_with_its_memory_need(tmp_path: Path):
    folder = fake_checkpoint(tmp_path / "ckpt")
    served = engine_spec_for(f"chat={folder}", ServeOptions(kv_cache_gib=0.5), _no_registry)
    assert served.spec.model == str(folder.resolve())
    assert served.spec.served_name == "chat"
    assert served.spec.dtype == "auto"
    assert served.spec.kv_cache_gib == 0.5
    # the checkpoint's float32 weights, the KV cache asked for, the measured runtime
    assert served.need.weights_gib == pytest.approx(expected_parameters() * 4 / 2**30)
    assert served.need.total_gib == pytest.approx(served.need.weights_gib + 0.5 + RUNTIME_GIB)


def test_a_folder_without_config_is_refused(tmp_path: Path):
    (tmp_path / "weights").mkdir()
    with pytest.raises(ConfigError) as refused:
        engine_spec_for(str(tmp_path / "weights"), ServeOptions(), _no_registry)
    assert "no config.json" in refused.value.headline


def test_the_memory_check_names_every_term_and_a_way_out():
    needs = [
        local_need("a", 7_000_000_000, "bfloat16", 4.0),
        local_need("b", 1_000_000, "float32", 1.0),
    ]
    check_local_fit(needs, available=40.0)  # fits: nothing raised
    check_local_fit(needs, available=None)  # no /proc/meminfo: not checked
    with pytest.raises(CapacityError) as refused:
        check_local_fit(needs, available=8.0)
    headline = refused.value.headline
    assert "8.0 GiB is available" in headline
    assert "a: weights 13.04 + KV cache 4 + runtime 2 GiB" in headline
    assert "--kv-cache-gib" in refused.value.hint
    assert "b alone needs 3.0 GiB" in refused.value.hint


def test_available_memory_is_read_from_meminfo(tmp_path: Path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 25165824 kB\nMemAvailable:   16777216 kB\n")
    assert available_gib(meminfo) == 16.0
    assert available_gib(tmp_path / "missing") is None


def _serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MLP), "llm", "serve", *args],
        cwd=cwd,
        env={**os.environ, "MLPLATFORM_HOME": str(cwd / ".mlplatform"), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serve_refuses_what_cannot_fit_before_starting_anything(tmp_path: Path):
    folder = fake_checkpoint(tmp_path / "ckpt")
    done = _serve(f"chat={folder}", "--kv-cache-gib", "100000", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "would need" in done.stderr
    assert "--kv-cache-gib" in done.stderr
    assert not (tmp_path / ".mlplatform" / "llm-logs").exists()  # no engine was started


def test_serve_of_an_unknown_registered_model_is_a_clear_error(tmp_path: Path):
    done = _serve("nope@champion", cwd=tmp_path)
    assert done.returncode == 2
    assert "nope" in done.stderr
    assert "hint:" in done.stderr
