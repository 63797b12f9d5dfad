"""The services' state file: what runs (PID and start time), since when, how often restarted.

``state.json`` is only changed under an exclusive lock on ``.lock`` (``flock``), so ``mlp up``,
``mlp down`` and the watcher never interleave; the lock dies with its holder.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlplatform.atomicfile import atomic_write_text
from mlplatform.services._process import Proc

__all__ = ["Record", "State", "StateFile"]


@dataclass
class Record:
    """One started process."""

    pid: int
    start_time: int
    started_at: float
    restarts: int = 0
    last_exit: str | None = None
    failures: int = 0  # failed restarts in a row
    failed: str | None = None  # set when the watcher gave up restarting it

    @property
    def proc(self) -> Proc:
        return Proc(self.pid, self.start_time)


@dataclass
class State:
    """Every service ``up`` started (by name), and the watcher."""

    services: dict[str, Record] = field(default_factory=dict)
    watcher: Record | None = None


class StateFile:
    """``<home>/state.json`` with its lock."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / "state.json"

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def load(self) -> State:
        if not self.path.is_file():
            return State()
        data = json.loads(self.path.read_text())
        watcher = data.get("watcher")
        return State(
            services={k: Record(**v) for k, v in data.get("services", {}).items()},
            watcher=Record(**watcher) if watcher else None,
        )

    def save(self, state: State) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(asdict(state), indent=2, sort_keys=True))
