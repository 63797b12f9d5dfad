"""Cost: the design's flat rates, per-cloud price tables, and cost estimates.

- ``rates``: the design's flat prices (CPU, memory, GPU per hour; hours per month), which the
  cost dashboard uses as its variables;
- ``prices``: the list-price tables per cloud, region and instance type (``prices.yaml``,
  dated, with sources) and the per-unit rates derived from them (``load_prices``,
  ``PriceBook.basis`` -> ``PriceBasis``);
- ``estimate``: requests x hours x rates for a step run, a pipeline (median past durations)
  and a deployment (replicas, and the nodes of an instance type);
- ``quantity``: Kubernetes quantities (``500m``, ``4Gi``) as numbers.

Nothing here reads settings or MLflow: durations and the chosen cloud come in.
"""

from __future__ import annotations

from mlplatform.cost.estimate import (
    DeployEstimate,
    InstanceFit,
    PipelineEstimate,
    Request,
    StepEstimate,
    estimate_deploy,
    estimate_pipeline,
    hourly_cost,
    pods_per_node,
    run_cost,
)
from mlplatform.cost.prices import (
    Instance,
    InstanceShape,
    PriceBasis,
    PriceBook,
    UnitRates,
    load_prices,
)
from mlplatform.cost.quantity import parse_quantity
from mlplatform.cost.rates import CPU_CORE_HOUR, GPU_HOUR, HOURS_PER_MONTH, MEMORY_GB_HOUR

__all__ = [
    "CPU_CORE_HOUR",
    "GPU_HOUR",
    "HOURS_PER_MONTH",
    "MEMORY_GB_HOUR",
    "DeployEstimate",
    "Instance",
    "InstanceFit",
    "InstanceShape",
    "PipelineEstimate",
    "PriceBasis",
    "PriceBook",
    "Request",
    "StepEstimate",
    "UnitRates",
    "estimate_deploy",
    "estimate_pipeline",
    "hourly_cost",
    "load_prices",
    "parse_quantity",
    "pods_per_node",
    "run_cost",
]
