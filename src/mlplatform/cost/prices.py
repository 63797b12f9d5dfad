"""The price tables (``prices.yaml``, package data): list prices per cloud, region and
instance type, validated by pydantic, and the per-unit rates derived from them.

``load_prices()`` reads the file once; ``PriceBook.basis(cloud, region)`` gives what a cost
is computed with (``PriceBasis``: the rates, the table's date and source). Unknown clouds,
regions and instance types are ``ConfigError``s that name the known ones.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlplatform.cost.quantity import parse_quantity
from mlplatform.cost.rates import CPU_CORE_HOUR, MEMORY_GB_HOUR
from mlplatform.errors import ConfigError

__all__ = [
    "CloudTable",
    "Instance",
    "InstanceShape",
    "PriceBasis",
    "PriceBook",
    "RegionTable",
    "UnitRates",
    "load_prices",
]

GIB_TO_GB = 1024**3 / 1e9
_Positive = Annotated[float, Field(gt=0)]


class Allocatable(BaseModel):
    """What a node of one instance type offers pods (node-pools.json's approximations)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu: str
    memory: str
    gpu: Annotated[int, Field(ge=0)]
    pods: Annotated[int, Field(ge=1)]

    def cores(self) -> float:
        return float(parse_quantity(self.cpu))

    def memory_gb(self) -> float:
        return float(parse_quantity(self.memory)) / 1e9


class InstanceShape(BaseModel):
    """vCPUs, memory (GiB), GPUs of one instance type, and its allocatable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vcpu: _Positive
    memory_gib: _Positive
    gpu: Annotated[int, Field(ge=0)]
    gpu_model: str | None
    allocatable: Allocatable


class RegionTable(BaseModel):
    """Hourly list prices of every instance type in one region."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approximate: bool
    hourly: dict[str, _Positive]


class CloudTable(BaseModel):
    """One cloud: its price source, instance shapes, reference instances and regions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    reference_cpu: str
    reference_gpu: str
    instance_types: dict[str, InstanceShape]
    regions: dict[str, RegionTable] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> CloudTable:
        known = set(self.instance_types)
        for name, region in self.regions.items():
            if set(region.hourly) != known:
                raise ValueError(f"region {name} must price exactly {sorted(known)}")
        cpu, gpu = known & {self.reference_cpu}, known & {self.reference_gpu}
        if not cpu or self.instance_types[self.reference_cpu].gpu != 0:
            raise ValueError(f"reference_cpu {self.reference_cpu} must be a CPU instance type")
        if not gpu or self.instance_types[self.reference_gpu].gpu < 1:
            raise ValueError(f"reference_gpu {self.reference_gpu} must be a GPU instance type")
        return self


@dataclass(frozen=True)
class UnitRates:
    """US dollars per vCPU-hour, per GB-hour (1e9 bytes) and per GPU-hour."""

    cpu_core_hour: float
    memory_gb_hour: float
    gpu_hour: float


@dataclass(frozen=True)
class Instance:
    """One instance type in one region: its shape and hourly list price."""

    name: str
    shape: InstanceShape
    hourly: float


@dataclass(frozen=True)
class PriceBasis:
    """What a cost is computed with: the rates of one cloud region and where they come from."""

    cloud: str
    region: str
    as_of: date
    rates: UnitRates
    approximate: bool
    instances: tuple[Instance, ...]

    def instance(self, name: str) -> Instance:
        """One instance type of this region.

        Raises:
            ConfigError: unknown here; the hint names the known ones.
        """
        for found in self.instances:
            if found.name == name:
                return found
        known = ", ".join(i.name for i in self.instances)
        raise ConfigError(
            f"{self.cloud} has no instance type {name!r} in the price table",
            f"Use one of: {known} (`mlp cost prices --cloud {self.cloud}` lists them).",
        )


class PriceBook(BaseModel):
    """The whole price file: its date, note, method and one table per cloud."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["mlplatform-prices/v1"]
    as_of: date
    currency: Literal["USD"]
    note: str
    method: str
    clouds: dict[str, CloudTable] = Field(min_length=1)

    def cloud(self, cloud: str) -> CloudTable:
        """One cloud's table; ``ConfigError`` naming the known clouds."""
        if cloud not in self.clouds:
            raise ConfigError(
                f"there is no price table for cloud {cloud!r}",
                f"Use --cloud with one of: {', '.join(self.clouds)}.",
            )
        return self.clouds[cloud]

    def default_region(self, cloud: str) -> str:
        """The first region listed for ``cloud``."""
        return next(iter(self.cloud(cloud).regions))

    def basis(self, cloud: str, region: str | None = None) -> PriceBasis:
        """The rates and instance prices of ``cloud`` in ``region`` (default: its first).

        Raises:
            ConfigError: unknown cloud or region; the hint names the known ones.
        """
        table = self.cloud(cloud)
        region = region or self.default_region(cloud)
        if region not in table.regions:
            raise ConfigError(
                f"the {cloud} price table has no region {region!r}",
                f"Use --region with one of: {', '.join(table.regions)}.",
            )
        prices = table.regions[region]
        instances = tuple(
            Instance(name, shape, prices.hourly[name])
            for name, shape in table.instance_types.items()
        )
        return PriceBasis(
            cloud, region, self.as_of, _unit_rates(table, prices), prices.approximate, instances
        )


def _unit_rates(table: CloudTable, prices: RegionTable) -> UnitRates:
    """The method stated in prices.yaml: the reference CPU instance split in the design's
    CPU:memory ratio; the GPU rate is what the reference GPU instance costs beyond that."""
    cpu = table.instance_types[table.reference_cpu]
    design = cpu.vcpu * CPU_CORE_HOUR + cpu.memory_gib * GIB_TO_GB * MEMORY_GB_HOUR
    scale = prices.hourly[table.reference_cpu] / design
    core, gb = CPU_CORE_HOUR * scale, MEMORY_GB_HOUR * scale
    gpu = table.instance_types[table.reference_gpu]
    rest = gpu.vcpu * core + gpu.memory_gib * GIB_TO_GB * gb
    return UnitRates(core, gb, (prices.hourly[table.reference_gpu] - rest) / gpu.gpu)


@functools.cache
def load_prices() -> PriceBook:
    """The price tables shipped with mlplatform (``mlplatform/cost/prices.yaml``).

    Raises:
        ConfigError: the file does not validate (a broken installation or edit).
    """
    import yaml

    text = files("mlplatform.cost").joinpath("prices.yaml").read_text(encoding="utf-8")
    try:
        return PriceBook.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise ConfigError(
            f"the price tables (mlplatform/cost/prices.yaml) are invalid: {exc.errors()[0]['msg']}",
            "Reinstall mlplatform, or fix the file as the error says (docs/cost.md).",
        ) from exc
