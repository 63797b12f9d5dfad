"""``Supervisor``: start, check, restart and stop the local services, by PID, under one lock.

``up`` checks every binary and port before it starts anything, then starts what is not
running in dependency order, each in its own session with its log, waits for its health check
and runs its setup (bucket, database). A watcher process (``watch.py``) calls ``heal`` every
few seconds: a service that died is restarted, and ``status`` shows how often and why.
``down`` stops the watcher, then every service in reverse order (signal, bounded wait,
SIGKILL), keeping all data.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from mlplatform.atomicfile import atomic_write_text
from mlplatform.errors import ServiceError
from mlplatform.services import _process
from mlplatform.services.base import Launch, PortUse, Service
from mlplatform.services.catalog import SERVICES, default_services, get, resolve
from mlplatform.services.config import ServicesConfig, env_name
from mlplatform.services.credentials import Credentials, load_or_create
from mlplatform.services.prometheus import Prometheus
from mlplatform.services.state import Record, State, StateFile

__all__ = ["CONFIG_FILE", "ServiceStatus", "Supervisor"]

CONFIG_FILE = "config.json"
MAX_FAILURES = 3  # failed restarts in a row before the watcher gives up on a service

Progress = Callable[[str, str], None]
K = TypeVar("K")
T = TypeVar("T")


@dataclass(frozen=True)
class ServiceStatus:
    """What ``status`` reports for one service."""

    name: str
    title: str
    state: str  # running | unhealthy | dead | failed | stopped
    url: str
    pid: int | None
    restarts: int
    last_exit: str | None
    log: str
    started_at: float | None


class Supervisor:
    """The local services of one state folder (``ServicesConfig.home``)."""

    def __init__(self, cfg: ServicesConfig) -> None:
        self.cfg = cfg
        self.state_file = StateFile(cfg.home)
        self._creds: Credentials | None = None
        self._saving = threading.Lock()  # services of one wave start in threads

    @classmethod
    def from_home(cls, home: Path) -> Supervisor | None:
        """The supervisor of the services last started under ``home`` (None if never)."""
        path = home / CONFIG_FILE
        if not path.is_file():
            return None
        return cls(ServicesConfig.from_json(path.read_text()))

    @property
    def creds(self) -> Credentials:
        if self._creds is None:
            self._creds = load_or_create(self.cfg.home)
        return self._creds

    # -- up ------------------------------------------------------------------------------

    def up(
        self, names: Sequence[str] = (), progress: Progress | None = None
    ) -> list[ServiceStatus]:
        """Start ``names`` (default: the team stack) and what they need; idempotent."""
        order = resolve(names or default_services(self.cfg), self.cfg)
        say = progress or (lambda _name, _msg: None)
        with self.state_file.locked():
            state = self.state_file.load()
            todo = [n for n in order if not self._running(state.services.get(n))]
            self._same_setup_as_running(state)
            for name in todo:  # every binary and port first: fail before anything starts
                self._check_ports(get(name), get(name).launch(self.cfg, self.creds))
            self.cfg.home.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.cfg.home / CONFIG_FILE, self.cfg.to_json())
            for name in order:
                if name not in todo:
                    self._refresh(name)
                    say(name, "already running")
            for wave in _waves(todo, self.cfg):  # a wave's services start side by side
                _all(wave, lambda name: self._start_reporting(name, state, say))
        return self.status(order)

    def _same_setup_as_running(self, state: State) -> None:
        """Refuse to mix services started with other ports or stores with new ones."""
        running = [n for n, r in state.services.items() if _process.alive(r.proc)]
        before = Supervisor.from_home(self.cfg.home)
        if not running or before is None:
            return
        old, new = before.cfg, self.cfg
        if (old.ports, old.host, old.artifacts, old.bucket) != (
            new.ports,
            new.host,
            new.artifacts,
            new.bucket,
        ):
            raise ServiceError(
                f"{', '.join(running)} already run with other ports or another artifact store",
                "Run `mlp down` first, then `mlp up` with the new settings.",
            )

    def _start_reporting(self, name: str, state: State, say: Progress) -> None:
        say(name, "starting")
        began = time.monotonic()
        self._start(name, state, restarts=0)
        say(name, f"started in {time.monotonic() - began:.1f}s")

    def _running(self, record: Record | None) -> bool:
        return record is not None and _process.alive(record.proc)

    def _refresh(self, name: str) -> None:
        """A running Prometheus re-reads its rules and config (they may have changed)."""
        service = get(name)
        if isinstance(service, Prometheus) and service.healthy(self.cfg, self.creds):
            service.prepare(self.cfg, self.creds)
            service.reload(self.cfg)

    def _check_ports(self, service: Service, launch: Launch) -> None:
        for use in launch.ports:
            if _process.port_in_use(self.cfg.host, use.port.number):
                raise ServiceError(
                    f"port {use.port.number} on {self.cfg.host} is already in use; "
                    f"{service.title} needs it ({use.what})",
                    _port_hint(use),
                )

    def _start(
        self, name: str, state: State, *, restarts: int, last_exit: str | None = None
    ) -> Record:
        service = get(name)
        launch = service.launch(self.cfg, self.creds)
        self._check_ports(service, launch)
        service.prepare(self.cfg, self.creds)
        log = self.cfg.log(name)
        proc = _process.spawn(
            launch.argv, log=log, env=launch.env, cwd=launch.cwd, user=launch.user
        )
        record = Record(proc.pid, proc.start_time, time.time(), restarts, last_exit)
        with self._saving:  # recorded before the wait: `down` can always stop it
            state.services[name] = record
            self.state_file.save(state)
        ready = _process.wait_until(
            lambda: not _process.alive(proc) or service.healthy(self.cfg, self.creds),
            service.start_timeout,
            interval=0.2,
        )
        if not _process.alive(proc):
            how = _process.exit_status(proc) or "it exited"
            raise ServiceError(
                f"{service.title} stopped while starting ({how})",
                f"Read its log: `mlp logs {name}` ({log}).",
                details=_process.tail(log),
            )
        if not ready:
            _process.stop(proc, launch.stop_signal, launch.stop_timeout, launch.signal_group)
            raise ServiceError(
                f"{service.title} did not answer its health check within "
                f"{service.start_timeout:.0f}s",
                f"Read its log: `mlp logs {name}` ({log}).",
                details=_process.tail(log),
            )
        service.on_ready(self.cfg, self.creds)
        return record

    # -- down ----------------------------------------------------------------------------

    def down(self, names: Sequence[str] = ()) -> list[tuple[str, str]]:
        """Stop ``names`` (default: everything ``up`` started) by PID; data stays."""
        if not names:
            self.stop_watcher()
        stopped: list[tuple[str, str]] = []
        with self.state_file.locked():
            state = self.state_file.load()
            chosen = [n for n in SERVICES if n in state.services and (not names or n in names)]
            for wave in reversed(_waves(chosen, self.cfg)):  # dependents first, side by side
                records = {name: state.services.pop(name) for name in wave}
                done = _all(list(records.items()), lambda item: self._stop(*item))
                stopped.extend(zip(wave, done, strict=True))
                self.state_file.save(state)
        return stopped

    def _stop(self, name: str, record: Record) -> str:
        try:
            launch = get(name).launch(self.cfg, self.creds)
        except ServiceError:  # the binary went away; stop it the default way
            launch = Launch(argv=[], ports=())
        return _process.stop(
            record.proc, launch.stop_signal, launch.stop_timeout, launch.signal_group
        )

    def restart(self, name: str) -> Record:
        """Stop and start one service (its restart count goes up)."""
        with self.state_file.locked():
            state = self.state_file.load()
            old = state.services.get(name)
            if old is not None:
                self._stop(name, old)
            restarts = old.restarts + 1 if old else 0
            return self._start(name, state, restarts=restarts, last_exit="restarted on request")

    # -- status and healing --------------------------------------------------------------

    def status(self, names: Iterable[str] | None = None) -> list[ServiceStatus]:
        state = self.state_file.load()
        chosen = list(names) if names is not None else [n for n in SERVICES if n in state.services]
        return [self._status(name, state.services.get(name)) for name in chosen]

    def _status(self, name: str, record: Record | None) -> ServiceStatus:
        service = get(name)
        if record is None:
            word = "stopped"
        elif record.failed:
            word = "failed"
        elif not _process.alive(record.proc):
            word = "dead"
        else:
            word = "running" if service.healthy(self.cfg, self.creds) else "unhealthy"
        return ServiceStatus(
            name=name,
            title=service.title,
            state=word,
            url=service.url(self.cfg),
            pid=record.pid if record else None,
            restarts=record.restarts if record else 0,
            last_exit=(record.failed or record.last_exit) if record else None,
            log=str(self.cfg.log(name)),
            started_at=record.started_at if record else None,
        )

    def heal(self) -> list[str]:
        """Restart every recorded service that died (one watcher cycle); their names."""
        healed: list[str] = []
        with self.state_file.locked():
            state = self.state_file.load()
            for name in [n for n in SERVICES if n in state.services]:
                record = state.services[name]
                if record.failed or _process.alive(record.proc):
                    continue
                how = _process.exit_status(record.proc) or f"pid {record.pid} exited"
                try:
                    new = self._start(name, state, restarts=record.restarts + 1, last_exit=how)
                except ServiceError as exc:
                    state.services[name] = _failed(record, how, exc)
                    self.state_file.save(state)
                    continue
                healed.append(name)
                state.services[name] = new
                self.state_file.save(state)
        return healed

    def start_watcher(self) -> Record:
        """Start the watcher process (restarts dead services) unless one runs."""
        with self.state_file.locked():
            state = self.state_file.load()
            if state.watcher is not None and _process.alive(state.watcher.proc):
                return state.watcher
            argv = [sys.executable, "-m", "mlplatform.services.watch", str(self.cfg.home)]
            proc = _process.spawn(argv, log=self.cfg.log("watch"))
            state.watcher = Record(proc.pid, proc.start_time, time.time())
            self.state_file.save(state)
            return state.watcher

    def stop_watcher(self) -> None:
        state = self.state_file.load()  # no lock: the watcher may hold it; it is killed anyway
        if state.watcher is not None:
            _process.stop(state.watcher.proc, timeout=5.0)
        with self.state_file.locked():
            state = self.state_file.load()
            state.watcher = None
            self.state_file.save(state)

    def watcher_running(self) -> bool:
        watcher = self.state_file.load().watcher
        return watcher is not None and _process.alive(watcher.proc)


def _waves(names: Sequence[str], cfg: ServicesConfig) -> list[list[str]]:
    """``names`` in waves: each wave only needs services of earlier waves (or none here)."""
    level: dict[str, int] = {}
    for name in names:  # already in dependency order (catalog order)
        needs = [level[r] for r in get(name).requires(cfg) if r in level]
        level[name] = 1 + max(needs, default=-1)
    return [[n for n in names if level[n] == i] for i in range(max(level.values(), default=-1) + 1)]


def _all(items: Sequence[K], work: Callable[[K], T]) -> list[T]:
    """``work`` for each item in threads; every one finishes, then the first error is raised."""
    if len(items) == 1:
        return [work(items[0])]
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(work, item) for item in items]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]
    return [f.result() for f in futures]


def _failed(record: Record, how: str, exc: ServiceError) -> Record:
    failures = record.failures + 1
    record.restarts += 1
    record.last_exit = f"{how}; restart failed: {exc.headline}"
    record.failures = failures
    if failures >= MAX_FAILURES:
        record.failed = f"gave up after {failures} failed restarts: {exc.headline}"
    return record


def _port_hint(use: PortUse) -> str:
    setting = use.port.setting
    section, _, key = setting.partition(".")
    where = (
        f"{key} under [{section}] in mlplatform.toml" if key else f"{setting} in mlplatform.toml"
    )
    return (
        f"Stop what listens there (`ss -ltnp 'sport = :{use.port.number}'` shows it), or choose "
        f"another port: set {setting} ({where}, or {env_name(setting)}=<port>)."
    )
