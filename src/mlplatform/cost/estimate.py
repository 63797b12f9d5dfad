"""Cost arithmetic: requested resources x hours x rates, for steps, pipelines and deploys.

Pure functions over numbers: the durations come in (from MLflow, read by the tracking
layer), the rates come in (``PriceBasis``). A cost is what the requests would cost at the
price table's per-unit rates; the instance view of a deploy adds what whole nodes cost.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from mlplatform.cost.prices import InstanceShape, PriceBasis, UnitRates
from mlplatform.cost.quantity import parse_quantity

__all__ = [
    "DeployEstimate",
    "InstanceFit",
    "PipelineEstimate",
    "Request",
    "StepEstimate",
    "estimate_deploy",
    "estimate_pipeline",
    "hourly_cost",
    "pods_per_node",
    "run_cost",
]

_EPS = 1e-9


@dataclass(frozen=True)
class Request:
    """What one pod or step asks for: CPU cores, memory in GB (1e9 bytes), GPUs."""

    cpu: float
    memory_gb: float
    gpu: int = 0

    @classmethod
    def of(cls, cpu: str | float, memory: str | float, gpu: int = 0) -> Request:
        """From Kubernetes quantities: ``Request.of("500m", "1Gi")``."""
        return cls(float(parse_quantity(cpu)), float(parse_quantity(memory)) / 1e9, gpu)

    def basis(self, rates: UnitRates) -> str:
        """The rate basis as text, for a tag: ``2 cpu x 0.0312 + 4.295 GB x 0.0039 + ...``."""
        return (
            f"{self.cpu:g} cpu x {rates.cpu_core_hour:.6g} + {self.memory_gb:.4g} GB x "
            f"{rates.memory_gb_hour:.6g} + {self.gpu} gpu x {rates.gpu_hour:.6g} USD/h"
        )


def hourly_cost(request: Request, rates: UnitRates) -> float:
    """US dollars per hour for ``request`` at ``rates``."""
    return (
        request.cpu * rates.cpu_core_hour
        + request.memory_gb * rates.memory_gb_hour
        + request.gpu * rates.gpu_hour
    )


def run_cost(request: Request, seconds: float, rates: UnitRates) -> float:
    """US dollars for holding ``request`` for ``seconds``."""
    return hourly_cost(request, rates) * seconds / 3600.0


@dataclass(frozen=True)
class StepEstimate:
    """One step: its requests, the past runs its duration comes from, and its cost.

    ``median_s`` and ``cost_usd`` are None when the step has no recorded run ("unknown").
    """

    node: str
    cpu: float
    memory_gb: float
    gpu: int
    hourly_usd: float
    runs: int
    median_s: float | None
    cost_usd: float | None


@dataclass(frozen=True)
class PipelineEstimate:
    """A pipeline's estimated cost per run; ``unknown`` steps are left out of the total."""

    pipeline: str
    cloud: str
    region: str
    as_of: date
    approximate: bool
    steps: list[StepEstimate]
    total_usd: float
    unknown: list[str] = field(default_factory=list)


def estimate_pipeline(
    pipeline: str,
    requests: Mapping[str, Request],
    durations: Mapping[str, Sequence[float]],
    basis: PriceBasis,
) -> PipelineEstimate:
    """Each step's requests x the median of its past durations x the region's rates.

    ``requests`` in run order; ``durations`` (seconds) of past successful runs per step.
    """
    steps = []
    for node, request in requests.items():
        past = list(durations.get(node, ()))
        median = statistics.median(past) if past else None
        hourly = hourly_cost(request, basis.rates)
        cost = None if median is None else hourly * median / 3600.0
        steps.append(
            StepEstimate(
                node, request.cpu, request.memory_gb, request.gpu, hourly, len(past), median, cost
            )
        )
    return PipelineEstimate(
        pipeline=pipeline,
        cloud=basis.cloud,
        region=basis.region,
        as_of=basis.as_of,
        approximate=basis.approximate,
        steps=steps,
        total_usd=sum(s.cost_usd for s in steps if s.cost_usd is not None),
        unknown=[s.node for s in steps if s.cost_usd is None],
    )


@dataclass(frozen=True)
class InstanceFit:
    """How many replicas one node of an instance type holds, and what the nodes cost.

    ``nodes`` and ``cost_usd`` are None when one replica does not fit a node.
    """

    instance_type: str
    node_hourly_usd: float
    pods_per_node: int
    nodes: int | None
    cost_usd: float | None


@dataclass(frozen=True)
class DeployEstimate:
    """A deployment's cost over ``hours``: replicas x requests x rates, and whole nodes."""

    model: str
    cloud: str
    region: str
    as_of: date
    approximate: bool
    replicas: int
    hours: float
    cpu: float
    memory_gb: float
    gpu: int
    hourly_per_replica_usd: float
    cost_usd: float
    instances: list[InstanceFit]


def pods_per_node(request: Request, shape: InstanceShape) -> int:
    """Replicas with ``request`` that one node's allocatable holds (0: none fits)."""
    alloc = shape.allocatable
    limits = [alloc.pods, math.floor(alloc.cores() / request.cpu + _EPS)]
    if request.memory_gb > 0:
        limits.append(math.floor(alloc.memory_gb() / request.memory_gb + _EPS))
    if request.gpu > 0:
        limits.append(alloc.gpu // request.gpu)
    return max(0, min(limits))


def estimate_deploy(
    model: str,
    request: Request,
    *,
    replicas: int,
    hours: float,
    basis: PriceBasis,
    instance_types: Sequence[str] = (),
) -> DeployEstimate:
    """``replicas`` x ``request`` x ``hours`` at the region's rates, and per instance type the
    nodes the replicas need and their list price (every type of the region unless named).

    Raises:
        ConfigError: an instance type the region's table does not have.
    """
    chosen = [basis.instance(n) for n in instance_types] or list(basis.instances)
    fits = []
    for instance in chosen:
        per_node = pods_per_node(request, instance.shape)
        nodes = math.ceil(replicas / per_node) if per_node else None
        cost = None if nodes is None else nodes * instance.hourly * hours
        fits.append(InstanceFit(instance.name, instance.hourly, per_node, nodes, cost))
    fits.sort(key=lambda f: (f.cost_usd is None, f.cost_usd or 0.0))
    hourly = hourly_cost(request, basis.rates)
    return DeployEstimate(
        model=model,
        cloud=basis.cloud,
        region=basis.region,
        as_of=basis.as_of,
        approximate=basis.approximate,
        replicas=replicas,
        hours=hours,
        cpu=request.cpu,
        memory_gb=request.memory_gb,
        gpu=request.gpu,
        hourly_per_replica_usd=hourly,
        cost_usd=hourly * replicas * hours,
        instances=fits,
    )
