"""SIGTERM to a step process (the executor stopping a run, Kubernetes deleting a pod) leaves
nothing behind: no scratch folder, no result, no cache entry."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.pipelines.spec import StepSpec
from mlplatform.services._process import wait_until

STEP = textwrap.dedent(
    """
    import time
    from pathlib import Path

    from mlplatform import step

    @step
    def slow(marker: str) -> int:
        Path(marker).write_text("started")
        time.sleep(120)
        return 1
    """
)


def test_sigterm_unwinds_the_step_and_leaves_no_scratch_or_entry(tmp_path: Path) -> None:
    # GIVEN a step process running a step that is past its start
    module = tmp_path / "slowstep.py"
    module.write_text(STEP)
    store = ArtifactStore(tmp_path / "store")
    marker, scratch = tmp_path / "started", tmp_path / "tmp"
    scratch.mkdir()
    spec = StepSpec(
        pipeline="p",
        run_id="run-1",
        node="slow",
        module="slowstep",
        qualname="slow",
        module_file=str(module),
        store_root=store.root,
        inputs={},
        params={"marker": str(marker)},
        outputs={"output": "int"},
        cache_key="s" * 64,
    )
    spec_path, result_path = tmp_path / "spec.json", tmp_path / "result.json"
    spec_path.write_text(spec.to_json())
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "mlplatform.pipelines.launcher"),
            *("--spec", str(spec_path), "--result", str(result_path)),
        ],
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(scratch), "MLPLATFORM_CACHE_KEY": "t" * 64},
        cwd=tmp_path,
    )
    try:
        assert wait_until(lambda: marker.exists() or proc.poll() is not None, 60, 0.05)
        assert proc.poll() is None, "the step process ended before it was signalled"
        assert [p.name for p in scratch.iterdir() if p.name.startswith("mlp-slow-")]
        # WHEN it gets SIGTERM
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # THEN it exits 128 + SIGTERM, having removed its scratch folder on the way out
    assert code == 128 + signal.SIGTERM
    assert list(scratch.iterdir()) == []
    # AND it wrote no result and no cache entry
    assert not result_path.exists()
    assert store.list("cache") == []
