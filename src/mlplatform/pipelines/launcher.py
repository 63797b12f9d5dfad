"""The one step entrypoint: ``python -m mlplatform.pipelines.launcher --spec S --result R``.

The local executor runs every step through it (as a subprocess, or in-process with
``--in-process``); Argo pods run the same module. It imports the step, reads its inputs from the
store (verifying digests), runs the function, writes each output atomically under its digest,
records the cache entry, and writes a result document. Exit status: 0 ok, 1 step error.

In an Argo pod (``--argo-spec``) the key's code, params and env components were computed on the
compiling machine, but the pod runs whatever the image holds. Before anything else (cache
lookup included) the launcher recomputes every baked component but ``inputs`` from what this
process actually imports, with the functions the local executor uses
(``cache.compute_key``), and refuses to run when one differs: the step fails (exit status 1)
with an error naming the image (``MLPLATFORM_IMAGE``, set by the compiled template) and both
hashes, and nothing is written to the store. The image digest is not part of the key, so
laptops and the cluster keep sharing one cache.

The pod's env component uses the lock file at ``MLPLATFORM_LOCK_FILE`` (the platform image sets
``/app/requirements/lock.txt``, the file it was installed from), else ``requirements/lock.txt``
in the working directory, else the installed distributions: the same rule, and the same
setting, as ``mlp pipeline run`` and ``mlp pipeline compile`` on a laptop. A laptop that
compiles with the lock file the image was built from therefore computes the image's env
component.

Traces (``mlplatform.telemetry``, opt-in from the OpenTelemetry environment): one span per
step, ``step NODE``, with its children ``fetch inputs``, ``run`` and ``store outputs`` (none on
a cache hit), attributes ``mlplatform.pipeline.name``, ``mlplatform.pipeline.run_id``,
``mlplatform.step.name``, ``mlplatform.step.cache_key``, ``mlplatform.step.cache_hit``,
``mlplatform.step.status`` and ``mlplatform.mlflow.run_id`` (the step's MLflow run) when
known. A process started with ``TRACEPARENT`` in its environment continues that trace; the
spans are flushed before the process exits.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplatform.artifacts import materializers
from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.artifacts.signing import CACHE_KEY_ENV
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.atomicfile import atomic_write_text
from mlplatform.errors import ArgoError, MlplatformError, PipelineNotFoundError
from mlplatform.pipelines.cache import (
    CacheEntry,
    CacheIndex,
    CacheKey,
    compute_key,
    environment_fingerprint,
    inputs_hash,
    key_of,
)
from mlplatform.pipelines.context import StepContext, running
from mlplatform.pipelines.spec import StepResult, StepSpec
from mlplatform.telemetry import Tracing, configure_tracing, context_from_environ, optional_span

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = [
    "IMAGE_ENV",
    "LOCK_ENV",
    "argo_spec",
    "cached_result",
    "check_image",
    "execute",
    "load_module",
    "main",
    "pod_lock_file",
    "resolve_step",
    "running_key",
    "write_argo_outputs",
]

IMAGE_ENV = "MLPLATFORM_IMAGE"  # the image a pod runs, set by the compiled template
LOCK_ENV = "MLPLATFORM_LOCK_FILE"  # the lock file of the env component (the settings' name)
SERVICE_NAME = "mlplatform-step"  # the traces' service.name unless OTEL_SERVICE_NAME says
DEFAULT_LOCK = "requirements/lock.txt"


def load_module(module: str, module_file: str | None) -> Any:
    """Import ``module``; fall back to loading ``module_file`` under that same name."""
    if module in sys.modules:
        return sys.modules[module]
    parent = module.rpartition(".")[0]
    if parent and module_file:
        # the package first: its __init__ may import this module (and its siblings) itself,
        # which would find a half-loaded module if the file were executed first
        with contextlib.suppress(ImportError):
            importlib.import_module(parent)
        if module in sys.modules:
            return sys.modules[module]
    if module_file:
        spec = importlib.util.spec_from_file_location(module, module_file)
        if spec is not None and spec.loader is not None:
            mod = importlib.util.module_from_spec(spec)
            sys.modules[module] = mod
            try:
                spec.loader.exec_module(mod)
            except BaseException:
                del sys.modules[module]
                raise
            return mod
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PipelineNotFoundError(
            f"cannot import step module {module!r}: {exc}",
            "Run from the project folder or pass the pipeline file with --file.",
        ) from exc


def resolve_step(spec: StepSpec) -> Any:
    obj: Any = load_module(spec.module, spec.module_file)
    for part in spec.qualname.split("."):
        obj = getattr(obj, part)
    return obj


def cached_result(
    store: ArtifactStore, key: str, *, repair: bool = True, index: CacheIndex | None = None
) -> tuple[CacheEntry | None, str | None]:
    """The cache entry for ``key`` if its signature verifies and every output it names is
    intact (``index``: the executor's, with its signing key; default: this process's).

    Returns ``(entry, problem)``: ``problem`` says why an existing entry was rejected (unsigned
    or forged, a corrupted or missing object); with ``repair`` an entry with a bad object is
    removed so the step is recomputed (a forged one is simply overwritten by the re-run).
    """
    index = index if index is not None else CacheIndex(store)
    entry, problem = index.lookup(key)
    if entry is None:
        return None, problem
    for name, ref in entry.outputs.items():
        try:
            store.verify(ref)
        except MlplatformError as exc:
            if repair:
                index.invalidate(key)
            return None, f"cached output '{name}' rejected: {exc.headline}"
    return entry, None


def _read_inputs(store: ArtifactStore, spec: StepSpec, scratch: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, ref in spec.inputs.items():
        path = store.fetch(ref, scratch)
        values[name] = materializers.by_name(ref.type).read(path)
    return values


def _write_outputs(
    step: Any, value: object, spec: StepSpec, store: ArtifactStore, scratch: Path
) -> dict[str, ArtifactRef]:
    refs: dict[str, ArtifactRef] = {}
    for name, out in step.split_outputs(value).items():
        declared = step.output_types[name]
        mat = materializers.for_value(declared, out, f"output '{name}' of step '{spec.node}'")
        local = scratch / f"out-{name}"
        mat.write(out, local)
        refs[name] = store.put_object(local, mat.name)
    return refs


def execute(spec: StepSpec, step: Any | None = None, tracer: Tracer | None = None) -> StepResult:
    """Run one step as the spec says. Never raises for a step error: it returns it.

    With a ``tracer``, the step is a ``step NODE`` span (continuing ``TRACEPARENT``'s trace
    when set) with ``fetch inputs``, ``run`` and ``store outputs`` children.
    """
    parent = context_from_environ(os.environ) if tracer is not None else None
    with optional_span(tracer, f"step {spec.node}", _step_attributes(spec), parent) as span:
        result = _execute(spec, step, tracer)
        if span is not None:
            _end_step(span, result)
    return result


def _step_attributes(spec: StepSpec) -> dict[str, Any]:
    attributes = {
        "mlplatform.pipeline.name": spec.pipeline,
        "mlplatform.pipeline.run_id": spec.run_id,
        "mlplatform.step.name": spec.node,
        "mlplatform.step.cache_key": spec.cache_key,
    }
    if spec.tracking_run_id:
        attributes["mlplatform.mlflow.run_id"] = spec.tracking_run_id
    return attributes


def _end_step(span: Span, result: StepResult) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("mlplatform.step.status", result.status)
    span.set_attribute("mlplatform.step.cache_hit", result.status == "cached")
    if result.tracking_run_id:
        span.set_attribute("mlplatform.mlflow.run_id", result.tracking_run_id)
    if result.status == "error":
        span.set_status(Status(StatusCode.ERROR, f"{result.error_type}: {result.error_message}"))


def _execute(spec: StepSpec, step: Any | None, tracer: Tracer | None) -> StepResult:
    store = ArtifactStore(spec.store_root, dict(spec.storage_options))
    try:
        if spec.check_cache:
            entry, _ = cached_result(store, spec.cache_key)
            if entry is not None:
                return StepResult(
                    status="cached",
                    outputs=entry.outputs,
                    metrics=entry.metrics,
                    tracking_run_id=entry.tracking_run_id,
                )
        step = step if step is not None else resolve_step(spec)
        context = StepContext(
            pipeline=spec.pipeline,
            run_id=spec.run_id,
            node=spec.node,
            cache_key=spec.cache_key,
            cache_keys=dict(spec.cache_keys),
            inputs={k: v.to_dict() for k, v in spec.inputs.items()},
            tracking_run_id=spec.tracking_run_id,
            git_commit=spec.git_commit,
            store_root=spec.store_root,
            storage_options=dict(spec.storage_options),
        )
        with tempfile.TemporaryDirectory(prefix=f"mlp-{spec.node}-") as tmp:
            scratch = Path(tmp)
            with optional_span(
                tracer, "fetch inputs", {"mlplatform.step.inputs": len(spec.inputs)}
            ):
                kwargs = {**spec.params, **_read_inputs(store, spec, scratch)}
            with optional_span(tracer, "run"), running(context) as report:
                value = step.fn(**kwargs)
            with optional_span(
                tracer, "store outputs", {"mlplatform.step.outputs": len(spec.outputs)}
            ):
                outputs = _write_outputs(step, value, spec, store, scratch)
                entry = CacheEntry(
                    key=spec.cache_key,
                    pipeline=spec.pipeline,
                    node=spec.node,
                    outputs=outputs,
                    pipeline_run_id=spec.run_id,
                    tracking_run_id=spec.tracking_run_id,
                    created_at=time.time(),
                    metrics=report.metrics,
                )
                CacheIndex(store).put(entry)
        return StepResult(
            status="ok",
            outputs=outputs,
            metrics=report.metrics,
            params=report.params,
            tracking_run_id=spec.tracking_run_id,
        )
    except Exception as exc:  # the step's error is data for the executor
        return StepResult(
            status="error",
            error_type=type(exc).__name__,
            error_message=exc.headline if isinstance(exc, MlplatformError) else str(exc),
            error_hint=exc.hint if isinstance(exc, MlplatformError) else None,
            error_details=exc.details if isinstance(exc, MlplatformError) else None,
            error_traceback=traceback.format_exc(),
        )


def argo_spec(raw: str, inputs: Sequence[str], run_id: str) -> StepSpec:
    """The step spec of an Argo pod: the compile-time part plus the run-time input references.

    The key is computed here from the baked code/params/env components and the inputs'
    digests, exactly as the local executor computes it and as the template's memoize key does.
    """
    baked = json.loads(raw)
    refs = {}
    for item in inputs:
        name, sep, value = item.partition("=")
        if not sep:
            raise PipelineNotFoundError(f"--input {item!r} is not NAME=REF_JSON", "Recompile.")
        refs[name] = ArtifactRef.from_dict(json.loads(value))
    digests = {name: ref.digest for name, ref in refs.items()}
    key = key_of({**baked["components"], "inputs": inputs_hash(digests)})
    return StepSpec(
        pipeline=baked["pipeline"],
        run_id=run_id,
        node=baked["node"],
        module=baked["module"],
        qualname=baked["qualname"],
        module_file=baked.get("module_file"),
        store_root=baked["store_root"],
        inputs=refs,
        params=baked["params"],
        outputs=baked["outputs"],
        cache_key=key,
        cache_keys={baked["node"]: key},
        check_cache=True,
    )


def pod_lock_file(environ: Mapping[str, str]) -> Path | None:
    """The lock file of this process's env component: ``MLPLATFORM_LOCK_FILE`` or
    ``requirements/lock.txt`` when it is a file (as ``settings.lock_file``), else None."""
    path = Path(environ.get(LOCK_ENV) or DEFAULT_LOCK)
    return path if path.is_file() else None


def running_key(step: Any, params: Mapping[str, Any], environ: Mapping[str, str]) -> CacheKey:
    """The key of ``step`` as this process would run it (no inputs: they are not baked)."""
    fingerprint = environment_fingerprint(pod_lock_file(environ))
    return compute_key(step, params, {}, fingerprint, environ=environ)


_MISMATCH_HINTS = {
    "code": "The image holds other step code than the checkout that compiled the workflow: "
    "build and push the image from that checkout (docker build -t IMAGE . && docker push "
    "IMAGE), compile again with its digest (MLPLATFORM_IMAGE_DIGEST=sha256:... mlp pipeline "
    "compile ...) and submit that.",
    "env": "The image was built from another lock file, Python or mlplatform version: compile "
    "with the lock file the image was installed from (MLPLATFORM_LOCK_FILE, default "
    "requirements/lock.txt) or rebuild the image from yours, then compile and submit again.",
}
_OTHER_HINT = (
    "The pod computes this part of the key differently from the compiling machine (a file "
    "or data source the step reads differs in the pod): make them the same, then compile and "
    "submit again."
)


def _components(names: Sequence[str]) -> str:
    if len(names) == 1:
        return f"key component differs: {names[0]}"
    return f"key components differ: {', '.join(names)}"


# Not compared with the compiled key: the inputs are known only at run time, and the data a
# step reads is fingerprinted again in the pod (a scheduled workflow's source changes between
# runs; the pod keys on the bytes it reads, see ``keyed_on_pod_data``).
_RUN_TIME = ("inputs", "data")


def check_image(node: str, baked: Mapping[str, str], running: CacheKey, image: str | None) -> None:
    """Raise ``ArgoError`` unless every baked component but inputs and data equals
    ``running``'s."""
    differ = [
        c for c in sorted(baked) if c not in _RUN_TIME and running.components.get(c) != baked[c]
    ]
    if not differ:
        return
    image = image or f"an unnamed image ({IMAGE_ENV} is not set)"
    lines = [
        f"  {c}: compiled {baked[c]}, image {running.components.get(c, 'none')}" for c in differ
    ]
    for c in ("env",):
        if c in differ:
            shown = json.dumps(running.details.get(c), sort_keys=True, default=str)
            lines.append(f"  the image's {c}: {shown}")
    hints = [_MISMATCH_HINTS.get(c, _OTHER_HINT) for c in differ]
    raise ArgoError(
        f"step '{node}' refused: image {image} does not run what was compiled "
        f"({_components(differ)}); nothing was run or written to the cache",
        " ".join(dict.fromkeys(hints)),
        details="\n".join(lines),
    )


def write_argo_outputs(result: StepResult, key: str, folder: Path) -> None:
    """One file per output parameter: ``<name>-ref`` (JSON) and ``<name>-digest``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, ref in result.outputs.items():
        atomic_write_text(folder / f"{name}-ref", json.dumps(ref.to_dict(), sort_keys=True))
        atomic_write_text(folder / f"{name}-digest", ref.digest)
    atomic_write_text(folder / "cache-key", key)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlplatform.pipelines.launcher",
        description="Run one pipeline step: from a spec file (local executor) or from the "
        "compile-time spec and input references (Argo pods).",
    )
    parser.add_argument("--spec", help="step spec JSON file (local executor)")
    parser.add_argument("--result", help="where to write the result JSON (local executor)")
    parser.add_argument("--argo-spec", help="compile-time step spec JSON (Argo)")
    parser.add_argument("--input", action="append", default=[], help="NAME=REF_JSON (Argo)")
    parser.add_argument("--run-id", default="argo", help="pipeline run id (Argo)")
    parser.add_argument(
        "--outputs-dir", default="/tmp/mlp/outputs", help="output parameters (Argo)"
    )
    return parser


def keyed_on_pod_data(spec: StepSpec, running: CacheKey) -> StepSpec:
    """``spec`` keyed on the data component the pod computed (the bytes it will read)."""
    digests = {name: ref.digest for name, ref in spec.inputs.items()}
    key = key_of({**running.components, "inputs": inputs_hash(digests)})
    return replace(spec, cache_key=key, cache_keys={spec.node: key})


def _require_cache_key(node: str) -> None:
    if not os.environ.get(CACHE_KEY_ENV):
        raise ArgoError(
            f"step '{node}' refused: {CACHE_KEY_ENV} is not set in the pod, so its cache "
            "entries could be neither verified nor trusted by anyone else",
            f"Create the Secret the template reads: kubectl create secret generic "
            f"mlplatform-cache-key --from-literal=key=\"$(python -c 'import secrets; "
            f"print(secrets.token_hex(32))')\" -n NAMESPACE, and export the same value as "
            f"{CACHE_KEY_ENV} where laptops share the store.",
        )


def _verified_step(raw: str, spec: StepSpec) -> tuple[Any, StepSpec]:
    """The step, once the image is proven to run what was compiled (``check_image``), and the
    spec keyed on the data the pod reads."""
    _require_cache_key(spec.node)
    step = resolve_step(spec)
    running = running_key(step, spec.params, os.environ)
    check_image(spec.node, json.loads(raw)["components"], running, os.environ.get(IMAGE_ENV))
    return step, keyed_on_pod_data(spec, running)


def _argo_main(args: argparse.Namespace, tracer: Tracer | None = None) -> int:
    spec = argo_spec(args.argo_spec, args.input, args.run_id)
    try:
        step, spec = _verified_step(args.argo_spec, spec)
    except MlplatformError as exc:
        from mlplatform._exit import print_error

        print(f"step {spec.node}: not run (cache key {spec.cache_key})", flush=True)
        print_error(exc)
        return 1
    except Exception:  # the step's module failed to import: the step's error, as in execute
        print(f"step {spec.node}: error (cache key {spec.cache_key})", flush=True)
        traceback.print_exc()
        return 1
    result = execute(spec, step, tracer)
    print(f"step {spec.node}: {result.status} (cache key {spec.cache_key})", flush=True)
    if result.status == "error":
        print(
            f"{result.error_type}: {result.error_message}\n{result.error_traceback or ''}",
            file=sys.stderr,
        )
        return 1
    write_argo_outputs(result, spec.cache_key, Path(args.outputs_dir))
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (the executor stopping a run, or Kubernetes deleting the pod) unwinds like an
    exception, so scratch folders and half-written temporary files are removed on the way
    out; outputs are atomic and the cache entry is written last, so nothing partial is
    visible either way."""
    sys.exit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if not args.argo_spec and not (args.spec and args.result):
        parser.error("pass --spec and --result, or --argo-spec")
    try:
        tracing = configure_tracing(SERVICE_NAME, scope="mlplatform.pipelines")
    except MlplatformError as exc:
        from mlplatform._exit import print_error

        return print_error(exc)
    try:
        return _run(args, tracing)
    finally:
        tracing.shutdown()  # a short process: its spans leave before it exits


def _run(args: argparse.Namespace, tracing: Tracing) -> int:
    if args.argo_spec:
        return _argo_main(args, tracing.tracer)
    spec = StepSpec.from_json(Path(args.spec).read_text())
    result = execute(spec, tracer=tracing.tracer)
    atomic_write_text(args.result, result.to_json())
    return 0 if result.status != "error" else 1


if __name__ == "__main__":
    sys.exit(main())
