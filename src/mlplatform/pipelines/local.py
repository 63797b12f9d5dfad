"""The local executor: runs a pipeline graph on this machine, every step through the launcher.

Steps run as subprocesses (``python -m mlplatform.pipelines.launcher``, what Argo pods run) or
in-process for debugging. Independent steps run in parallel up to ``workers``. Each step's
cache key is computed from its code, params, input digests and environment; a verified hit in
the store's index is reused without running anything. Resume after a failure is a re-run.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.artifacts.signing import CACHE_KEY_ENV, Signer
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import PipelineDefinitionError, StepFailedError
from mlplatform.pipelines import launcher
from mlplatform.pipelines.cache import CacheIndex, CacheKey, compute_key, environment_fingerprint
from mlplatform.pipelines.codehash import step_code_hash
from mlplatform.pipelines.datasource import DigestCache, Fingerprint, fingerprint_params
from mlplatform.pipelines.dsl import resolve_params
from mlplatform.pipelines.graph import ArtifactBinding, Node, ParamBinding, PipelineGraph
from mlplatform.pipelines.observer import NullObserver, PipelineRunInfo, RunObserver, StepOutcome
from mlplatform.pipelines.spec import StepResult, StepSpec
from mlplatform.telemetry import (
    TRACEPARENT_ENV,
    configure_tracing,
    context_from_environ,
    optional_span,
    traceparent_of,
)

__all__ = [
    "LocalExecutor",
    "PipelineInterrupted",
    "PipelineRunResult",
    "ProgressEvent",
    "RunOptions",
    "git_commit",
]


@dataclass(frozen=True)
class ProgressEvent:
    """A step changed state: ``cached``, ``running``, ``retrying``, ``ran``, ``failed``,
    ``skipped``, ``interrupted`` (stopped by Ctrl-C or SIGTERM) or ``corrupt`` (a cached
    output failed its digest check and is recomputed)."""

    node: str
    status: str
    message: str = ""


@dataclass
class RunOptions:
    """How to run. ``env`` is added to each step's environment (e.g. ``MLFLOW_TRACKING_URI``).

    ``stop_grace_s``: on Ctrl-C or SIGTERM, how long running steps get between SIGTERM and
    SIGKILL.
    """

    workers: int = 2
    in_process: bool = False
    stop_grace_s: float = 10.0
    force: Collection[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    lock_file: Path | None = None
    observer: RunObserver | None = None
    progress: Callable[[ProgressEvent], None] | None = None
    resume_command: str | None = None
    run_id: str | None = None
    git_commit: str | None = None
    data_digests: Path | None = None  # the local data digest cache file (None: in memory)


@dataclass
class PipelineRunResult:
    """The outcome of one pipeline run."""

    run_id: str
    pipeline: str
    params: dict[str, Any]
    status: str
    steps: dict[str, StepOutcome]
    duration_s: float
    problems: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)  # what tracking could not record

    def output(self, node: str, name: str = "output") -> ArtifactRef:
        """The reference of one output of one node."""
        return ArtifactRef.from_dict(dict(self.steps[node].outputs[name]))

    @property
    def cached(self) -> list[str]:
        return [n for n, o in self.steps.items() if o.status == "cached"]


class PipelineInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM, raised once its running steps are stopped.

    It is a ``KeyboardInterrupt``, so code that stops on Ctrl-C still does. ``message`` says
    what was stopped and how to resume; ``result`` holds the outcomes (``interrupted`` for the
    stopped steps; steps that never started are absent).
    """

    def __init__(self, message: str, result: PipelineRunResult, signal_name: str) -> None:
        super().__init__(message)
        self.message, self.result, self.signal_name = message, result, signal_name


class _Signal(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while steps ran."""

    def __init__(self, signum: int) -> None:
        self.name = signal.Signals(signum).name
        super().__init__(self.name)


def git_commit(cwd: Path | None = None) -> str | None:
    """The HEAD commit of the git checkout at ``cwd``, or None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


_TRACE_SERVICE = "mlplatform-pipeline"


def _end_run_span(span: Any, run: _Run) -> None:
    """The run's outcome on its span: an error status naming the failed or interrupted steps."""
    from opentelemetry.trace import Status, StatusCode

    status = "interrupted" if run.interrupted else "failed" if run.failed else "succeeded"
    span.set_attribute("mlplatform.pipeline.status", status)
    if status != "succeeded":
        span.set_status(
            Status(StatusCode.ERROR, f"{status}: {', '.join(run.failed) or run.interrupted}")
        )


def _new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _module_location(step: Any) -> tuple[str, str | None]:
    """The module name the launcher should import, and the file to load it from if needed."""
    module = sys.modules.get(step.module)
    path = getattr(module, "__file__", None)
    if step.module == "__main__" and path:
        return f"_mlp_main_{Path(path).stem}", str(Path(path).resolve())
    return step.module, str(Path(path).resolve()) if path else None


class LocalExecutor:
    """Runs pipelines on this machine against one artifact store."""

    def __init__(self, store: ArtifactStore, options: RunOptions | None = None) -> None:
        self.store = store
        self.options = options or RunOptions()
        # the signing key: MLPLATFORM_CACHE_KEY (options.env, else ours), else a process key;
        # step processes get it through their environment (``step_environ``)
        signer = Signer.from_environ({**os.environ, **self.options.env})
        self.index = CacheIndex(store, signer)
        self.environment = environment_fingerprint(self.options.lock_file)
        self.observer: RunObserver = self.options.observer or NullObserver()
        self._code: dict[int, str] = {}
        self.digests = DigestCache(self.options.data_digests)
        self._data: dict[str, dict[str, Fingerprint]] | None = None  # this run's, by node
        self._lock = threading.Lock()
        self._env_users = 0
        self._saved_env: dict[str, str | None] = {}
        self._proc_lock = threading.Lock()  # running steps: processes, in-process threads
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._threads: dict[str, int] = {}
        self.stopping = threading.Event()  # set on Ctrl-C/SIGTERM: no step may start
        self._escalate = threading.Event()  # a second signal: SIGKILL at once
        self._stop_reason = "SIGINT"
        self._traceparent: str | None = None  # the run's span, for the steps' launchers

    # ---- keys -------------------------------------------------------------------------
    def step_environ(self) -> dict[str, str]:
        environ = {**os.environ, **self.options.env, CACHE_KEY_ENV: self.index.signer.key}
        if self._traceparent:  # a traced run: each step's spans join the run's trace
            environ[TRACEPARENT_ENV] = self._traceparent
        return environ

    def node_key(
        self, node: Node, params: Mapping[str, Any], inputs: Mapping[str, ArtifactRef]
    ) -> CacheKey:
        code = self._code.get(id(node.step))
        if code is None:
            code = self._code[id(node.step)] = step_code_hash(node.step)
        data = self._data.get(node.name) if self._data is not None else None
        if data is None:
            data = self.node_data(node, params)
        return compute_key(
            node.step,
            params,
            inputs,
            self.environment,
            environ=self.step_environ(),
            code_hash=code,
            data=data,
        )

    def node_data(self, node: Node, params: Mapping[str, Any]) -> dict[str, Fingerprint]:
        """Fingerprints of the external data ``node`` declares (``DataSourceError`` if gone)."""
        flags = {
            arg: f"-p {b.param}" for arg, b in node.bindings.items() if isinstance(b, ParamBinding)
        }
        return fingerprint_params(node.step, params, self.digests, flags=flags)

    def check_data(self, graph: PipelineGraph, values: Mapping[str, Any]) -> None:
        """Fingerprint every declared data source before any step runs (a missing one fails
        the run here, naming it); the run's keys use these fingerprints."""
        self._data = {
            name: self.node_data(graph.nodes[name], graph.nodes[name].param_values(values))
            for name in graph.order
        }

    def data_of(self, node: str) -> dict[str, Fingerprint]:
        """The fingerprints ``check_data`` took for ``node`` (empty outside a check)."""
        return dict((self._data or {}).get(node, {}))

    def reset_data(self) -> None:
        """Forget the checked fingerprints: the next key fingerprints the data again."""
        self._data = None

    # ---- run --------------------------------------------------------------------------
    def run(
        self, graph: PipelineGraph, params: Mapping[str, Any] | None = None
    ) -> PipelineRunResult:
        """Run ``graph``; raise ``StepFailedError`` (with ``.result``) if a step failed."""
        unknown = set(self.options.force) - set(graph.nodes)
        if unknown:
            raise PipelineDefinitionError(
                f"--force names unknown step(s): {', '.join(sorted(unknown))}",
                f"Steps of '{graph.name}': {', '.join(graph.order)}.",
            )
        values = resolve_params(graph, params or {})
        self.check_data(graph, values)
        commit = self.options.git_commit or git_commit()
        info = PipelineRunInfo(
            run_id=self.options.run_id or _new_run_id(),
            pipeline=graph.name,
            params=values,
            git_commit=commit,
            resources={n: dataclasses.asdict(nd.step.resources) for n, nd in graph.nodes.items()},
        )
        started = time.perf_counter()
        self._notify(self.observer.pipeline_started, info)
        run = _Run(self, graph, values, info)
        tracing = configure_tracing(_TRACE_SERVICE, scope="mlplatform.pipelines")
        parent = context_from_environ(os.environ) if tracing.enabled else None
        attributes = {
            "mlplatform.pipeline.name": graph.name,
            "mlplatform.pipeline.run_id": info.run_id,
        }
        try:
            with optional_span(
                tracing.tracer, f"pipeline {graph.name}", attributes, parent
            ) as span:
                self._traceparent = traceparent_of(span) if span is not None else None
                with tempfile.TemporaryDirectory(prefix="mlp-run-") as workdir:
                    run.execute(Path(workdir))
                if span is not None:
                    _end_run_span(span, run)
        finally:
            self._traceparent = None
            self.reset_data()
            tracing.shutdown()
        status = "interrupted" if run.interrupted else "failed" if run.failed else "succeeded"
        unrecorded = self._notify(self.observer.pipeline_finished, info, status) or []
        result = PipelineRunResult(
            run_id=info.run_id,
            pipeline=graph.name,
            params=values,
            status=status,
            steps={n: run.outcomes[n] for n in graph.order if n in run.outcomes},
            duration_s=time.perf_counter() - started,
            problems=run.problems,
            unrecorded=list(unrecorded),
        )
        if run.interrupted:
            raise self._interruption(graph, result, run.interrupted)
        if run.failed:
            raise self._failure(graph, result, run.failed[0])
        return result

    def _failure(
        self, graph: PipelineGraph, result: PipelineRunResult, node: str
    ) -> StepFailedError:
        outcome = result.steps[node]
        resume = self.options.resume_command or f"mlp pipeline run {graph.name}"
        done = sum(1 for o in result.steps.values() if o.status in ("ran", "cached"))
        cause = outcome.error_hint
        err = StepFailedError(
            f"step '{node}' failed: {outcome.error}",
            (f"{cause} " if cause else "")
            + f"Then resume with `{resume}`: the {done} completed step(s) are cached"
            " and only the failed step and what depends on it run again.",
            step=node,
            details=outcome.error_details or "",
        )
        err.result = result
        err.traceback = outcome.error_traceback or ""
        return err

    def _interruption(
        self, graph: PipelineGraph, result: PipelineRunResult, signal_name: str
    ) -> PipelineInterrupted:
        stopped = [n for n, o in result.steps.items() if o.status == "interrupted"]
        not_started = [n for n in graph.order if n not in result.steps]
        done = sum(1 for o in result.steps.values() if o.status in ("ran", "cached"))
        resume = self.options.resume_command or f"mlp pipeline run {graph.name}"
        parts = [f"run {result.run_id} of '{graph.name}' interrupted by {signal_name}"]
        parts.append(f"stopped: {', '.join(stopped)}" if stopped else "no step was running")
        if not_started:
            parts.append(f"not started: {', '.join(not_started)}")
        message = (
            "; ".join(parts) + f". Resume with `{resume}`: the {done} completed step(s) are"
            " cached and only the rest runs."
        )
        return PipelineInterrupted(message, result, signal_name)

    @contextmanager
    def _environ(self) -> Iterator[None]:
        """``options.env`` in os.environ while in-process steps run (the subprocess parity)."""
        with self._lock:
            if self._env_users == 0:
                self._saved_env = {k: os.environ.get(k) for k in self.options.env}
                os.environ.update(self.options.env)
            self._env_users += 1
        try:
            yield
        finally:
            with self._lock:
                self._env_users -= 1
                if self._env_users == 0:
                    for k, v in self._saved_env.items():
                        if v is None:
                            os.environ.pop(k, None)
                        else:
                            os.environ[k] = v

    def _notify(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            return fn(*args)

    def emit(self, node: str, status: str, message: str = "") -> None:
        if self.options.progress is not None:
            with self._lock:
                self.options.progress(ProgressEvent(node, status, message))

    # ---- interrupts -------------------------------------------------------------------
    @contextmanager
    def signals(self) -> Iterator[None]:
        """While the block runs, SIGINT and SIGTERM interrupt the run (``_Signal``).

        Only in the main thread, and only where Python's defaults are in place: a handler
        someone else installed (or an ignored signal) is left alone. While steps are being
        stopped, a second signal sends SIGKILL at once instead of waiting out the grace period.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
        saved = {sig: h for sig, h in defaults.items() if signal.getsignal(sig) == h}
        for sig in saved:
            signal.signal(sig, self._on_signal)
        try:
            yield
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping.is_set():
            self._escalate.set()
            return
        raise _Signal(signum)

    def stop_steps(self, reason: str) -> None:
        """Stop every running step and start no other.

        A step process gets SIGTERM for its whole process group, then SIGKILL for what is left
        after ``stop_grace_s``; an in-process step gets ``KeyboardInterrupt`` in its thread (at
        its next Python instruction: a long call into C finishes first).
        """
        with self._proc_lock:
            self._stop_reason = reason
            self.stopping.set()
            groups = [p.pid for p in self._procs.values()]
            for ident in self._threads.values():
                _raise_in_thread(ident)
        for pgid in groups:
            _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + self.options.stop_grace_s
        while any(map(_group_alive, groups)) and time.monotonic() < deadline:
            if self._escalate.wait(0.05):
                break
        for pgid in groups:
            _signal_group(pgid, signal.SIGKILL)

    def interrupted_result(self) -> StepResult:
        return StepResult(
            status="interrupted",
            error_type="Interrupted",
            error_message=f"interrupted by {self._stop_reason} before it finished",
        )

    # ---- one attempt ------------------------------------------------------------------
    def attempt(self, spec: StepSpec, step: Any, workdir: Path, attempt: int) -> StepResult:
        if self.options.in_process:
            return self._attempt_in_process(spec, step)
        folder = workdir / spec.node
        folder.mkdir(exist_ok=True)
        spec_path, result_path = folder / f"spec-{attempt}.json", folder / f"result-{attempt}.json"
        spec_path.write_text(spec.to_json())
        cmd = [
            sys.executable,
            "-m",
            "mlplatform.pipelines.launcher",
            "--spec",
            str(spec_path),
            "--result",
            str(result_path),
        ]
        with self._proc_lock:  # a step starts before stop_steps looks, or not at all
            if self.stopping.is_set():
                return self.interrupted_result()
            proc = subprocess.Popen(cmd, env=self.step_environ(), start_new_session=True)
            self._procs[spec.node] = proc
        timeout = step.timeout
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return StepResult(
                status="error",
                error_type="TimeoutError",
                error_message=f"step timed out after {timeout:g} s and was killed",
            )
        finally:
            with self._proc_lock:
                self._procs.pop(spec.node, None)
        if result_path.exists():
            return StepResult.from_json(result_path.read_text())
        if self.stopping.is_set():
            return self.interrupted_result()
        how = (
            f"killed by signal {signal.Signals(-proc.returncode).name}"
            if proc.returncode < 0
            else f"exited with status {proc.returncode} without a result"
        )
        return StepResult(
            status="error", error_type="ProcessError", error_message=f"step process {how}"
        )

    def _attempt_in_process(self, spec: StepSpec, step: Any) -> StepResult:
        with self._proc_lock:
            if self.stopping.is_set():
                return self.interrupted_result()
            self._threads[spec.node] = threading.get_ident()
        try:
            with self._environ():
                return launcher.execute(spec, step)
        except KeyboardInterrupt:  # stop_steps raised it in this thread
            return self.interrupted_result()
        finally:
            with self._proc_lock:
                self._threads.pop(spec.node, None)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _raise_in_thread(ident: int) -> None:
    """Raise ``KeyboardInterrupt`` in thread ``ident`` at its next Python instruction."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(KeyboardInterrupt)
    )


class _Run:
    """The state of one pipeline run: which nodes are done, running, failed or skipped."""

    def __init__(
        self, ex: LocalExecutor, graph: PipelineGraph, params: dict[str, Any], info: PipelineRunInfo
    ) -> None:
        self.ex, self.graph, self.params, self.info = ex, graph, params, info
        self.outcomes: dict[str, StepOutcome] = {}
        self.keys: dict[str, str] = {}
        self.failed: list[str] = []
        self.problems: list[str] = []
        self.interrupted: str | None = None  # the signal that stopped the run

    def execute(self, workdir: Path) -> None:
        """Run every node; on SIGINT/SIGTERM stop the running steps and record them."""
        pending = list(self.graph.order)
        running: dict[Future[StepOutcome], str] = {}
        self.ex.stopping.clear()
        self.ex._escalate.clear()
        pool = ThreadPoolExecutor(max_workers=max(1, self.ex.options.workers))
        abandon = False
        try:
            with self.ex.signals():
                try:
                    self._loop(pending, running, pool, workdir)
                except KeyboardInterrupt as exc:
                    self.interrupted = exc.name if isinstance(exc, _Signal) else "SIGINT"
                    abandon = not self._stop(running)
        finally:
            pool.shutdown(wait=not abandon, cancel_futures=abandon)

    def _loop(
        self,
        pending: list[str],
        running: dict[Future[StepOutcome], str],
        pool: ThreadPoolExecutor,
        workdir: Path,
    ) -> None:
        while pending or running:
            if self._start_ready(pending, running, pool, workdir):
                continue
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                self._finish(running[fut], fut.result())
                del running[fut]

    def _stop(self, running: dict[Future[StepOutcome], str]) -> bool:
        """Stop the running steps and record their outcomes; False if one would not stop."""
        reason = self.interrupted or "SIGINT"
        self.ex.stop_steps(reason)
        done, left = wait(running, timeout=self.ex.options.stop_grace_s + 5)
        for fut in done:
            if running[fut] not in self.outcomes:
                self._finish(running[fut], fut.result())
        for fut in left:
            name = running[fut]
            error = f"interrupted by {reason}; still running in this process when the run ended"
            outcome = StepOutcome(
                node=name, status="interrupted", cache_key=self.keys.get(name, ""), error=error
            )
            self._finish(name, outcome)
        return not left

    def _start_ready(
        self,
        pending: list[str],
        running: dict[Future[StepOutcome], str],
        pool: ThreadPoolExecutor,
        workdir: Path,
    ) -> bool:
        for name in list(pending):
            ups = self.graph.nodes[name].upstream
            if any(
                self.outcomes.get(u) and self.outcomes[u].status in ("failed", "skipped")
                for u in ups
            ):
                pending.remove(name)
                self._finish(name, StepOutcome(node=name, status="skipped", cache_key=""))
                return True
            if not all(u in self.outcomes for u in ups):
                continue
            pending.remove(name)
            launched = self._prepare(name, pool, workdir)
            if isinstance(launched, StepOutcome):
                self._finish(name, launched)
            else:
                running[launched] = name
            return True
        return False

    def _inputs(self, node: Node) -> dict[str, ArtifactRef]:
        return {
            arg: ArtifactRef.from_dict(dict(self.outcomes[b.node].outputs[b.output]))
            for arg, b in node.bindings.items()
            if isinstance(b, ArtifactBinding)
        }

    def _prepare(
        self, name: str, pool: ThreadPoolExecutor, workdir: Path
    ) -> StepOutcome | Future[StepOutcome]:
        node = self.graph.nodes[name]
        params = node.param_values(self.params)
        inputs = self._inputs(node)
        key = self.ex.node_key(node, params, inputs)
        self.keys[name] = key.key
        if name not in self.ex.options.force:
            entry, problem = launcher.cached_result(self.ex.store, key.key, index=self.ex.index)
            if problem:
                self.problems.append(f"{name}: {problem}; recomputing")
                self.ex.emit(name, "corrupt", problem)
            if entry is not None:
                self.ex.index.record_last(self.graph.name, name, key)
                return StepOutcome(
                    node=name,
                    status="cached",
                    cache_key=key.key,
                    key_components=dict(key.components),
                    params={**params, **_lineage(key)},
                    outputs={k: v.to_dict() for k, v in entry.outputs.items()},
                    metrics=dict(entry.metrics),
                    producer_tracking_run_id=entry.tracking_run_id,
                )
        tracking_id = self.ex._notify(self.ex.observer.step_started, self.info, name, key.key)
        module, module_file = _module_location(node.step)
        spec = StepSpec(
            pipeline=self.graph.name,
            run_id=self.info.run_id,
            node=name,
            module=module,
            qualname=node.step.qualname,
            module_file=module_file,
            store_root=self.ex.store.root,
            storage_options=self.ex.store.storage_options,
            inputs=inputs,
            params=params,
            outputs={k: str(v) for k, v in node.output_types.items()},
            cache_key=key.key,
            cache_keys=dict(self.keys),
            tracking_run_id=tracking_id,
            git_commit=self.info.git_commit,
        )
        self.ex.emit(name, "running")
        lineage = _lineage(key)
        if not lineage:
            return pool.submit(self._run_step, node, spec, key, workdir)
        return pool.submit(lambda: _with_params(self._run_step(node, spec, key, workdir), lineage))

    def _run_step(self, node: Node, spec: StepSpec, key: CacheKey, workdir: Path) -> StepOutcome:
        retries = node.step.retries
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                result = self.ex.attempt(spec, node.step, workdir, attempt)
            except KeyboardInterrupt:  # in-process: it landed just outside the step
                result = self.ex.interrupted_result()
            if result.status != "error" or attempt >= retries.count:
                break
            delay = retries.delay(attempt)
            attempt += 1
            self.ex.emit(
                node.name,
                "retrying",
                f"attempt {attempt + 1}/{retries.count + 1} in {delay:g} s: {result.error_message}",
            )
            if self.ex.stopping.wait(delay):
                result = self.ex.interrupted_result()
                break
        ok = result.status not in ("error", "interrupted")
        if ok:
            self.ex.index.record_last(self.graph.name, node.name, key)
        return StepOutcome(
            node=node.name,
            status="ran" if ok else "interrupted" if result.status == "interrupted" else "failed",
            cache_key=key.key,
            key_components=dict(key.components),
            params=spec.params,
            metrics=dict(result.metrics),
            outputs={k: v.to_dict() for k, v in result.outputs.items()},
            duration_s=time.perf_counter() - started,
            attempts=attempt + 1,
            error=None if ok else f"{result.error_type}: {result.error_message}",
            error_hint=result.error_hint,
            error_details=result.error_details,
            error_traceback=result.error_traceback,
            tracking_run_id=spec.tracking_run_id,
        )

    def _finish(self, name: str, outcome: StepOutcome) -> None:
        self.outcomes[name] = outcome
        if outcome.status == "failed":
            self.failed.append(name)
        self.ex.emit(name, outcome.status, outcome.error or "")
        if outcome.status != "skipped":
            self.ex._notify(self.ex.observer.step_finished, self.info, outcome)


def _lineage(key: CacheKey) -> dict[str, str]:
    """``data.<param>``: ``method:digest`` of each external data source, for MLflow params
    (which bytes trained this model); library data (``value``) is already in the params."""
    return {
        f"data.{name}": f"{fp['method']}:{fp['digest']}"
        for name, fp in key.details.get("data", {}).items()
        if fp["method"] != "value"
    }


def _with_params(outcome: StepOutcome, extra: Mapping[str, str]) -> StepOutcome:
    return dataclasses.replace(outcome, params={**outcome.params, **extra})
