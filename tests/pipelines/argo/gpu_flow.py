"""A pipeline that uses every scheduling feature the Argo compiler maps.

A real module (not test-local functions) so that steps have a module and qualname to import.
"""

from __future__ import annotations

from mlplatform import Resources, Retries, pipeline, step


@step
def make_batch(n: int) -> list:
    return list(range(n))


@step(
    resources=Resources(cpu=1, memory="8Gi", gpu=1),
    retries=Retries(count=3, backoff=2, factor=2),
    timeout=600,
)
def fit_on_gpu(xs: list) -> dict:
    return {"n": len(xs)}


@step(resources=Resources(cpu=2, memory="4Gi"))
def crunch(xs: list) -> int:
    return sum(xs)


@step
def notify(fit: dict, total: int) -> None:
    """A step with no return value: on Argo it still outputs its cache key."""
    print(f"fit {fit} total {total}")


@pipeline(name="gpu-flow")
def gpu_flow(n: int = 8) -> None:
    batch = make_batch(n)
    notify(fit_on_gpu(batch), crunch(batch))


@pipeline(name="Odd_Name.v2")
def odd_name(n: int = 3) -> None:
    """A pipeline whose name is a valid label value but not a valid Kubernetes object name."""
    crunch(make_batch(n))


@pipeline(name="nightly-retraining-of-the-customer-lifetime-value-model-for-europe")
def long_name(n: int = 3) -> None:
    """A name over Argo's 52-character limit for CronWorkflows."""
    crunch(make_batch(n))
