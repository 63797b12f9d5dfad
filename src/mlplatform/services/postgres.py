"""PostgreSQL from Debian's ``postgresql`` package: ``initdb`` once, then ``postgres`` supervised.

The postmaster runs in the foreground as a child of the supervisor (``pg_ctl start`` would
daemonize it, and its exit status would be lost); it is stopped by PID with SIGINT, which is
``pg_ctl stop -m fast``. As root it runs as the ``postgres`` user, which must be able to reach
the data folder. TCP on loopback only, no Unix socket; SCRAM passwords.
"""

from __future__ import annotations

import glob
import os
import pwd
import signal
import stat
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

from mlplatform.atomicfile import atomic_write_text
from mlplatform.errors import ServiceError
from mlplatform.services.base import Launch, PortUse, Service, find_binary
from mlplatform.services.config import ServicesConfig
from mlplatform.services.credentials import Credentials

__all__ = ["DATABASE", "DATABASES", "FEATURES_DATABASE", "Postgres"]

DATABASE = "mlflow"
FEATURES_DATABASE = "features"  # the feature store's online store and SQL registry (Feast)
DATABASES = (DATABASE, FEATURES_DATABASE)
_INSTALL = "apt-get install -y postgresql"
_OS_USER = "postgres"


class Postgres(Service):
    name = "postgres"
    title = "PostgreSQL"
    start_timeout = 30.0

    def _bin(self, cfg: ServicesConfig, tool: str) -> str:
        debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
        names = (*(f"{d}/{tool}" for d in debian if cfg.search_path is None), tool)
        return find_binary(names, cfg, f"PostgreSQL ({tool})", _INSTALL)

    def data_dir(self, cfg: ServicesConfig) -> Path:
        return cfg.dir(self.name) / "data"

    def launch(self, cfg: ServicesConfig, creds: Credentials) -> Launch:
        port = cfg.ports["postgres"]
        argv = [
            self._bin(cfg, "postgres"),
            "-D",
            str(self.data_dir(cfg)),
            "-h",
            cfg.host,
            "-p",
            str(port.number),
            "-c",
            "unix_socket_directories=",
        ]
        return Launch(
            argv=argv,
            ports=(PortUse(port, "PostgreSQL"),),
            user=_OS_USER if os.geteuid() == 0 else None,
            stop_signal=signal.SIGINT,  # fast shutdown: roll back open transactions, checkpoint
            stop_timeout=30.0,
            signal_group=False,
        )

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        data = self.data_dir(cfg)
        if (data / "PG_VERSION").is_file():
            return
        initdb = self._bin(cfg, "initdb")
        data.mkdir(parents=True, exist_ok=True)
        as_root = os.geteuid() == 0
        if as_root:
            _hand_over(data.parent, data)
        pwfile = data.parent / ".pwfile"
        atomic_write_text(pwfile, creds.postgres_password + "\n", mode=0o600)  # owner only
        if as_root:
            _hand_over(pwfile)
        try:
            result = subprocess.run(
                [initdb, "-D", str(data), "-U", creds.postgres_user, f"--pwfile={pwfile}",
                 "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                capture_output=True, text=True, check=False,
                user=_OS_USER if as_root else None,
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ServiceError(
                f"initdb failed for {data}: {result.stderr.strip()[-500:]}",
                f"Remove {data} and run `mlp up` again, or fix what initdb says.",
            )

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        try:
            with _connect(cfg, creds, "postgres") as conn:
                conn.cursor().execute("SELECT 1")
            return True
        except Exception:  # any connection failure means "not yet"
            return False

    def on_ready(self, cfg: ServicesConfig, creds: Credentials) -> None:
        with _connect(cfg, creds, "postgres") as conn:
            conn.autocommit = True
            cur = conn.cursor()
            for database in DATABASES:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{database}"')

    def url(self, cfg: ServicesConfig) -> str:
        return f"postgresql://{cfg.host}:{cfg.port('postgres')}/{DATABASE}"


def _connect(cfg: ServicesConfig, creds: Credentials, db: str) -> closing[Any]:
    import psycopg2

    conn = psycopg2.connect(
        host=cfg.host,
        port=cfg.port("postgres"),
        user=creds.postgres_user,
        password=creds.postgres_password,
        dbname=db,
        connect_timeout=2,
    )
    return closing(conn)


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.name)
    except ValueError:
        return 0.0


def _hand_over(*paths: Path) -> None:
    """Give ``paths`` to the postgres user, after checking it can reach them at all."""
    entry = pwd.getpwnam(_OS_USER)
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    for ancestor in paths[0].resolve().parents:
        mode = ancestor.stat()
        if mode.st_uid != entry.pw_uid and not mode.st_mode & stat.S_IXOTH:
            raise ServiceError(
                f"PostgreSQL runs as the {_OS_USER} user, which cannot reach {paths[0]}: "
                f"{ancestor} is closed to other users (mode {stat.filemode(mode.st_mode)})",
                f"Run `chmod o+x {ancestor}`, or set MLPLATFORM_HOME to a folder it can reach.",
            )
