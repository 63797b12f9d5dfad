"""Hot reload does not stall requests: the new version's drift profile (an MLflow round trip
and up to hundreds of MB) is loaded off the event loop, with the model, and both are swapped
in together.

The profile load is made slow on purpose at its boundary (the server's monitor factory: the
real registry profile, then a 2 s wait); the server, the registry and the HTTP client are real.
Before the fix the profile was loaded on the event loop: every request in flight waited the
whole 2 s.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import numpy as np

from mlplatform.drift import DriftConfig
from mlplatform.drift.monitor import DriftMonitor
from mlplatform.serving import SamplingConfig, ServerConfig, VariantConfig
from mlplatform.serving.loader import LoadedModel
from mlplatform.serving.sampler import MonitorFactory, registry_monitors
from mlplatform.tracking import promote

from .conftest import MODEL

SLOW_S = 2.0
CLIENTS = 4


class SlowProfiles:
    """The registry's monitor factory, 2 s slower for every version after the first; it
    records when each slow load ran (``time.perf_counter``, the client's clock)."""

    def __init__(self, factory: MonitorFactory) -> None:
        self.factory = factory
        self.loads: list[tuple[float, float]] = []
        self.threads: set[str] = set()

    def __call__(self, model: LoadedModel) -> DriftMonitor | None:
        monitor = self.factory(model)
        if model.version != "1":
            started = time.perf_counter()
            self.threads.add(threading.current_thread().name)
            time.sleep(SLOW_S)  # a big profile on a slow link
            self.loads.append((started, time.perf_counter()))
        return monitor


def p99(latencies: list[float]) -> float:
    return float(np.percentile(latencies, 99))


def test_requests_keep_their_latency_while_a_new_version_and_profile_load(
    fresh_registry, start_server, churn_data
):
    # GIVEN a server following churn@champion (v1), sampling (so versions get drift
    # monitors) and re-resolving the alias every 0.2 s
    slow = SlowProfiles(registry_monitors(fresh_registry, DriftConfig(), window_rows=100))
    sampling = SamplingConfig(fraction=0.01, flush_rows=10**6, flush_interval_s=3600)
    config = ServerConfig(
        MODEL,
        (VariantConfig("champion", f"models:/{MODEL}@champion"),),
        fresh_registry,
        sampling=sampling,
        reload_interval_s=0.2,
    )
    server = start_server(config, monitors=slow)
    body = {"instances": churn_data[1].head(1).to_dict("records")}
    timings: list[tuple[float, float, str]] = []  # (start, latency, version)

    async def client(stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            while not stop.is_set():
                started = time.perf_counter()
                answer = await http.post(f"/v1/models/{MODEL}:predict", json=body)
                assert answer.status_code == 200, answer.text
                version = answer.headers["x-mlp-model-version"]
                timings.append((started, time.perf_counter() - started, version))

    async def scenario() -> float:
        stop = asyncio.Event()
        clients = [asyncio.create_task(client(stop)) for _ in range(CLIENTS)]
        await asyncio.sleep(2.0)  # warm-up, then the baseline
        promoted = time.perf_counter()
        # WHEN v2 becomes champion while the clients keep sending
        await asyncio.to_thread(
            promote, MODEL, "champion", 2, tracking_uri=fresh_registry, user="t", reason="t"
        )
        for _ in range(600):  # until v2 answers (load, slow profile, swap)
            if timings and timings[-1][2] == "2":
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*clients)
        return promoted

    promoted = asyncio.run(scenario())
    # THEN the new version took over, after its slow profile load
    assert timings[-1][2] == "2"
    assert len(slow.loads) == 1
    loading_from, loading_to = slow.loads[0]
    warm = timings[0][0] + 0.5
    before = [lat for start, lat, _ in timings if warm <= start < promoted]
    during = [  # in flight at some point of the slow load
        lat for start, lat, _ in timings if start < loading_to and start + lat > loading_from
    ]
    print(f"p99 before {p99(before) * 1000:.2f} ms ({len(before)} requests), during the "
          f"reload {p99(during) * 1000:.2f} ms ({len(during)})")  # fmt: skip
    # AND requests in flight while it loaded kept their latency: p99 within 2x of before
    assert p99(during) <= 2 * p99(before), (
        f"p99 {p99(during) * 1000:.1f} ms during the reload, {p99(before) * 1000:.1f} ms "
        f"before ({len(during)} and {len(before)} requests)"
    )
    # AND they were answered all along (not only a few that waited out the load)
    assert len(during) >= len(before) / 4, (len(during), len(before))
    # AND the profile was loaded on the server's worker thread, not its event loop
    assert all(name.startswith("serving-io") for name in slow.threads), slow.threads
