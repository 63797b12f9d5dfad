"""The local engines behind the router: started on first request, stopped when idle.

One ``Engine`` per served model name. ``ready(name)`` starts the engine if it is not running
(concurrent callers share one start) and waits until it answers; ``begin``/``end`` count the
requests in flight, and ``reap_idle`` stops an engine that has had none for ``idle_timeout``
seconds: local scale to zero. A stopped engine frees all its memory (the whole process group
exits); the next request starts it again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlplatform.errors import LlmEngineError
from mlplatform.llm.local.engine import Engine, EngineSpec, engine_port, log_tail

__all__ = ["EnginePool", "EngineState"]

_POLL_S = 0.25


@dataclass
class EngineState:
    """One served model: its engine (None while stopped) and what the router counts."""

    spec: EngineSpec
    engine: Engine | None = None
    in_flight: int = 0
    last_used: float = field(default_factory=time.monotonic)
    starts: int = 0
    stopping: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def running(self) -> bool:
        return self.engine is not None and self.engine.running and not self.stopping


class EnginePool:
    """Engines for ``specs`` (by served name); ports are chosen at each start.

    Args:
        specs: one per model; ``port`` is ignored (a free port is taken at each start).
        log_dir: engine logs go to ``log_dir/<served name>.log``.
        idle_timeout: seconds without requests after which a running engine is stopped
            (0: never).
        start_timeout: seconds an engine may take to answer after it starts.
        python: the LLM venv's Python (default: ``llm_python()``).
        on_change: called with (served name, ``host:port``) when an engine answers and with
            (served name, None) when it stopped (`mlp llm serve` registers Prometheus scrape
            targets with it).
    """

    def __init__(
        self,
        specs: Sequence[EngineSpec],
        log_dir: Path,
        *,
        idle_timeout: float = 600.0,
        start_timeout: float = 600.0,
        python: Path | None = None,
        on_change: Callable[[str, str | None], None] | None = None,
    ) -> None:
        self.on_change = on_change
        self.states = {spec.served_name: EngineState(spec) for spec in specs}
        self.log_dir = Path(log_dir)
        self.idle_timeout = idle_timeout
        self.start_timeout = start_timeout
        self.python = python

    def names(self) -> list[str]:
        return list(self.states)

    def running_engine(self, name: str) -> Engine | None:
        """The engine serving ``name`` if it is running now, else None."""
        state = self.states[name]
        return state.engine if state.running else None

    async def ready(self, name: str) -> float:
        """Make sure ``name``'s engine runs and answers; returns the seconds this call waited.

        Raises:
            LlmEngineError: the engine exited or did not answer within ``start_timeout``.
        """
        state = self.states[name]
        if state.running:
            return 0.0
        begin = time.monotonic()
        async with state.lock:  # one start, however many requests arrive meanwhile
            if not state.running:
                await self._start(state)
        return time.monotonic() - begin

    async def _start(self, state: EngineState) -> None:
        spec = dataclasses.replace(state.spec, port=engine_port(state.spec.host))
        engine = Engine(spec, self.log_dir / f"{spec.served_name}.log", python=self.python)
        engine.start()
        state.starts += 1
        begin = time.monotonic()
        try:
            while True:
                engine.check_alive()
                if await _answers(spec.host, spec.port):
                    break
                if time.monotonic() - begin > self.start_timeout:
                    raise LlmEngineError(
                        f"The vLLM server for {spec.served_name!r} did not answer within "
                        f"{self.start_timeout:.0f} s; it was stopped.",
                        f"Read its log ({engine.log_path}); on a slow machine pass a longer "
                        "--start-timeout to `mlp llm serve`.",
                        log=log_tail(engine.log_path),
                    )
                await asyncio.sleep(_POLL_S)
        except BaseException:
            await asyncio.to_thread(engine.stop)
            raise
        state.engine = engine
        state.last_used = time.monotonic()
        self._changed(spec.served_name, f"{spec.host}:{spec.port}")

    def _changed(self, name: str, address: str | None) -> None:
        if self.on_change is not None:
            self.on_change(name, address)

    def begin(self, name: str) -> None:
        state = self.states[name]
        state.in_flight += 1
        state.last_used = time.monotonic()

    def end(self, name: str) -> None:
        state = self.states[name]
        state.in_flight -= 1
        state.last_used = time.monotonic()

    def forget_if_dead(self, name: str) -> bool:
        """Drop an engine whose process has exited (the next request restarts it)."""
        state = self.states[name]
        if state.engine is not None and not state.engine.running and not state.stopping:
            state.engine = None
            self._changed(name, None)
            return True
        return False

    async def reap_idle(self) -> list[str]:
        """Stop engines idle for longer than ``idle_timeout``; returns the names stopped."""
        if self.idle_timeout <= 0:
            return []
        now = time.monotonic()
        stopped = []
        for name, state in self.states.items():
            if (
                state.running
                and state.in_flight == 0
                and now - state.last_used > self.idle_timeout
                and not state.lock.locked()
            ):
                async with state.lock:  # a request arriving now waits, then starts it again
                    engine = state.engine
                    state.stopping = True
                    try:
                        if engine is not None:
                            await asyncio.to_thread(engine.stop)
                    finally:
                        state.engine, state.stopping = None, False
                self._changed(name, None)
                stopped.append(name)
        return stopped

    async def stop_all(self) -> None:
        for name, state in self.states.items():
            engine, state.engine = state.engine, None
            if engine is not None:
                await asyncio.to_thread(engine.stop)
                self._changed(name, None)

    def status(self) -> list[dict[str, object]]:
        """Per model: running or stopped, pid, port, starts, requests in flight, memory."""
        rows: list[dict[str, object]] = []
        for name, state in self.states.items():
            engine = state.engine if state.running else None
            phase = "stopping" if state.stopping else ("running" if engine else "stopped")
            rows.append(
                {
                    "model": name,
                    "state": phase,
                    "pid": engine.pid if engine else None,
                    "url": engine.url if engine else None,
                    "starts": state.starts,
                    "in_flight": state.in_flight,
                    "memory_bytes": engine.memory_bytes() if engine else 0,
                    "idle_seconds": round(time.monotonic() - state.last_used, 1),
                    "log": str(self.log_dir / f"{name}.log"),
                }
            )
        return rows


async def _answers(host: str, port: int) -> bool:
    """Whether ``GET /health`` answers 200 now (a plain socket: no client library needed)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(f"GET /health HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n".encode())
        status = await asyncio.wait_for(reader.readline(), 2)
        return status.split(b" ")[1:2] == [b"200"]
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
