"""The pipeline DSL: ``@step`` wraps a typed function, ``@pipeline`` wires steps into a DAG.

A step stays a plain function: calling it outside a pipeline definition just runs it. Inside a
``@pipeline`` function the same call records a node in the graph and returns references to the
node's outputs, which later steps take as inputs.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, cast, overload

from mlplatform.errors import PipelineDefinitionError
from mlplatform.grammar.names import definition_name
from mlplatform.pipelines.graph import (
    ArtifactBinding,
    Binding,
    ConstBinding,
    Node,
    ParamBinding,
    ParamSpec_,
    PipelineGraph,
    check_compatible,
)

__all__ = [
    "OutputRef",
    "ParamRef",
    "Pipeline",
    "Resources",
    "Retries",
    "Step",
    "pipeline",
    "step",
]

P = ParamSpec("P")
R = TypeVar("R")
ExternalState = Callable[[Mapping[str, Any], Mapping[str, str], Mapping[str, str]], Any]
"""``(step params, environment, input digests) -> Fingerprint`` of state outside the step's
inputs (the digests are empty where inputs are not known yet, as in an Argo pod)."""

_JSON_TYPES = (str, int, float, bool, type(None), list, dict)


@dataclass(frozen=True)
class Resources:
    """What one step asks for: CPU cores, memory (Kubernetes quantity) and GPUs."""

    cpu: float = 1.0
    memory: str = "1Gi"
    gpu: int = 0

    def __post_init__(self) -> None:
        if self.cpu <= 0 or self.gpu < 0:
            raise PipelineDefinitionError(
                f"Resources(cpu={self.cpu}, gpu={self.gpu}) is not valid",
                "cpu must be > 0 and gpu >= 0.",
            )


@dataclass(frozen=True)
class Retries:
    """Retry a failed step ``count`` times, waiting ``backoff * factor**attempt`` seconds."""

    count: int = 0
    backoff: float = 1.0
    factor: float = 2.0
    max_backoff: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        return float(min(self.backoff * self.factor**attempt, self.max_backoff))


@dataclass(frozen=True)
class OutputRef:
    """A reference to one output of a node, handed between steps while a pipeline is built."""

    node: str
    output: str
    type: Any


@dataclass(frozen=True)
class ParamRef:
    """A pipeline parameter as seen inside the pipeline function."""

    name: str
    type: Any


class Step(Generic[P, R]):
    """A typed function that can run as one node of a pipeline."""

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        resources: Resources | None = None,
        retries: Retries | int = 0,
        timeout: float | None = None,
        env: Sequence[str] = (),
        outputs: Sequence[str] | None = None,
        data: Sequence[str] | Mapping[str, str] = (),
        external: Mapping[str, ExternalState] | None = None,
    ) -> None:
        self.fn = fn
        self.name = definition_name(name or fn.__name__.replace("_", "-"), "step")
        self.resources = resources or Resources()
        self.retries = retries if isinstance(retries, Retries) else Retries(count=retries)
        self.timeout = timeout
        self.env = tuple(env)
        self._declared_outputs = tuple(outputs) if outputs is not None else None
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)
        self.data = _data_params(self.name, data, self.signature)
        self.external = dict(external or {})
        clash = sorted(set(self.external) & set(self.data))
        if clash:
            raise PipelineDefinitionError(
                f"step '{self.name}' declares {', '.join(clash)} as both data and external",
                "Give the external state another name than the data parameters.",
            )

    @property
    def module(self) -> str:
        return str(self.fn.__module__)

    @property
    def qualname(self) -> str:
        return str(self.fn.__qualname__)

    @functools.cached_property
    def hints(self) -> dict[str, Any]:
        try:
            return typing.get_type_hints(self.fn)
        except Exception as exc:
            raise PipelineDefinitionError(
                f"cannot resolve the type hints of step '{self.name}': {exc}",
                "Import every type used in the step's annotations at module level.",
            ) from exc

    @functools.cached_property
    def output_types(self) -> dict[str, Any]:
        """Output name -> type, from the return annotation and ``outputs=``."""
        ret = self.hints.get("return", Any)
        if ret is None or ret is type(None):
            return {}
        names = self._declared_outputs
        if names is None:
            return {"output": ret}
        args = typing.get_args(ret) if typing.get_origin(ret) is tuple else ()
        if len(args) != len(names):
            raise PipelineDefinitionError(
                f"step '{self.name}' declares outputs {list(names)} but returns {ret!r}",
                f"Annotate the return type as tuple[...] with {len(names)} items.",
            )
        return dict(zip(names, args, strict=True))

    def input_types(self) -> dict[str, Any]:
        return {name: self.hints.get(name, Any) for name in self.signature.parameters}

    def split_outputs(self, value: object) -> dict[str, object]:
        """Map the function's return value onto the declared output names."""
        names = list(self.output_types)
        if not names:
            return {}
        if len(names) == 1 and self._declared_outputs is None:
            return {names[0]: value}
        if not isinstance(value, tuple) or len(value) != len(names):
            raise PipelineDefinitionError(
                f"step '{self.name}' returned {type(value).__name__}, expected a tuple of "
                f"{len(names)} items ({', '.join(names)})",
                "Return one value per declared output, in order.",
            )
        return dict(zip(names, value, strict=True))

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        builder = _BUILDER.get()
        if builder is None:
            return self.fn(*args, **kwargs)
        return cast(R, builder.add(self, args, kwargs))

    def __repr__(self) -> str:
        return f"<Step {self.name} ({self.module}.{self.qualname})>"


@overload
def step(fn: Callable[P, R], /) -> Step[P, R]: ...


@overload
def step(
    *,
    name: str | None = None,
    resources: Resources | None = None,
    retries: Retries | int = 0,
    timeout: float | None = None,
    env: Sequence[str] = (),
    outputs: Sequence[str] | None = None,
    data: Sequence[str] | Mapping[str, str] = (),
    external: Mapping[str, ExternalState] | None = None,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...


def step(fn: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """Turn a typed function into a pipeline step.

    Args:
        fn: the function (when used as bare ``@step``).
        **options: ``name``, ``resources``, ``retries`` (count or ``Retries``), ``timeout``
            (seconds), ``env`` (names of environment variables that change the result, part of
            the cache key), ``outputs`` (names for a tuple return), ``data`` (parameters that
            name external data: a path, folder, glob or fsspec URL whose content fingerprint
            is part of the cache key; a mapping ``{"schema": "optional"}`` allows a source
            that does not exist yet, see docs/caching.md), ``external`` (name -> a function
            ``(params, environ, input digests) -> Fingerprint`` of state the step reads from
            outside, such as a registry's champion; its fingerprint joins the key's data
            component, taken again wherever the key is computed to run the step).

    Example:
        >>> @step(retries=2, env=("TZ",))
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> double(2)
        4
    """
    if fn is not None:
        return Step(fn)
    return lambda f: Step(f, **options)


_DATA_KINDS = ("required", "optional")


def _data_params(
    step: str, data: Sequence[str] | Mapping[str, str], signature: inspect.Signature
) -> dict[str, str]:
    """``data=`` as ``{parameter: "required" | "optional"}``, checked against the signature."""
    if isinstance(data, str):
        data = (data,)
    kinds = dict(data) if isinstance(data, Mapping) else dict.fromkeys(data, "required")
    for param, kind in kinds.items():
        if param not in signature.parameters:
            raise PipelineDefinitionError(
                f"step '{step}' declares data parameter '{param}' it does not have",
                "data= must name parameters of the step function.",
            )
        if kind not in _DATA_KINDS:
            raise PipelineDefinitionError(
                f"step '{step}' data parameter '{param}' is {kind!r}",
                'Declare it as "required" (the default) or "optional" (may not exist yet).',
            )
    return kinds


@dataclass
class _Builder:
    nodes: dict[str, Node] = field(default_factory=dict)
    params: dict[str, ParamSpec_] = field(default_factory=dict)

    def add(self, st: Step[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name = self._unique(st.name)
        try:
            bound = st.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(
                f"step '{name}' is called with the wrong inputs: {exc}",
                f"Pass every input of {st.qualname}{st.signature}.",
            ) from exc
        bound.apply_defaults()
        types = st.input_types()
        bindings = {
            arg: self._bind(name, arg, value, types[arg]) for arg, value in bound.arguments.items()
        }
        node = Node(
            name=name,
            step=st,
            bindings=bindings,
            input_types=types,
            output_types=st.output_types,
        )
        self.nodes[name] = node
        refs = tuple(OutputRef(name, out, typ) for out, typ in st.output_types.items())
        if st._declared_outputs is None:
            return refs[0] if refs else None
        return refs

    def _unique(self, base: str) -> str:
        name, i = base, 2
        while name in self.nodes:
            name, i = f"{base}-{i}", i + 1
        return name

    def _bind(self, node: str, arg: str, value: object, expected: Any) -> Binding:
        where = f"input '{arg}' of step '{node}'"
        if isinstance(value, OutputRef):
            check_compatible(value.type, expected, f"{where} (from {value.node}.{value.output})")
            return ArtifactBinding(node=value.node, output=value.output)
        if isinstance(value, ParamRef):
            check_compatible(value.type, expected, f"{where} (from parameter '{value.name}')")
            return ParamBinding(param=value.name)
        if isinstance(value, tuple) and value and all(isinstance(v, OutputRef) for v in value):
            raise PipelineDefinitionError(
                f"{where} got all outputs of a multi-output step",
                "Unpack the outputs: `a, b = step(...)`, and pass the one you need.",
            )
        if not _is_json(value):
            raise PipelineDefinitionError(
                f"{where} is a {type(value).__name__}, which cannot be a pipeline constant",
                "Pass step outputs, pipeline parameters, or JSON values "
                "(str, int, float, bool, list, dict).",
            )
        check_compatible(type(value), expected, where)
        return ConstBinding(value=value)


def _is_json(value: object) -> bool:
    if isinstance(value, list | tuple):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return isinstance(value, _JSON_TYPES)


_BUILDER: contextvars.ContextVar[_Builder | None] = contextvars.ContextVar("builder", default=None)


class Pipeline:
    """A named DAG of steps, built by tracing the decorated function once."""

    def __init__(
        self, fn: Callable[..., Any], *, name: str | None = None, description: str = ""
    ) -> None:
        self.fn = fn
        self.name = definition_name(name or fn.__name__.replace("_", "-"), "pipeline")
        self.description = description or inspect.getdoc(fn) or ""
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    @functools.cached_property
    def graph(self) -> PipelineGraph:
        """The validated graph IR (cycles, missing inputs and types are checked here)."""
        hints = typing.get_type_hints(self.fn)
        builder = _Builder()
        refs: dict[str, ParamRef] = {}
        for pname, param in inspect.signature(self.fn).parameters.items():
            if param.default is inspect.Parameter.empty:
                raise PipelineDefinitionError(
                    f"pipeline '{self.name}' parameter '{pname}' has no default",
                    "Give every pipeline parameter a default value.",
                )
            ptype = hints.get(pname, type(param.default))
            builder.params[pname] = ParamSpec_(name=pname, type=ptype, default=param.default)
            refs[pname] = ParamRef(pname, ptype)
        token = _BUILDER.set(builder)
        try:
            self.fn(**refs)
        finally:
            _BUILDER.reset(token)
        return PipelineGraph(
            name=self.name,
            params=builder.params,
            nodes=builder.nodes,
            description=self.description,
        )

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}>"


def pipeline(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None, description: str = ""
) -> Any:
    """Declare a pipeline. Parameters of the function are the pipeline's typed parameters.

    Example:
        >>> @pipeline(name="doubling")
        ... def doubling(x: int = 2) -> None:
        ...     double(double(x))
    """
    if fn is not None:
        return Pipeline(fn, name=name, description=description)
    return lambda f: Pipeline(f, name=name, description=description)


def resolve_params(graph: PipelineGraph, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Pipeline parameters with overrides applied and coerced to their declared types."""
    unknown = sorted(set(overrides) - set(graph.params))
    if unknown:
        raise PipelineDefinitionError(
            f"pipeline '{graph.name}' has no parameter {', '.join(repr(u) for u in unknown)}",
            f"Its parameters are: {', '.join(graph.params) or '(none)'}.",
        )
    values = {name: spec.default for name, spec in graph.params.items()}
    for name, raw in overrides.items():
        values[name] = graph.params[name].coerce(raw)
    return values
