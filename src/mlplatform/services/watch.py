"""The watcher: ``python -m mlplatform.services.watch HOME`` restarts services that die.

``mlp up`` starts it in its own session; ``mlp down`` stops it by PID. It exits by itself when
no service is recorded any more.
"""

from __future__ import annotations

import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from mlplatform.services.supervisor import Supervisor

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    supervisor = Supervisor.from_home(Path(args[0]))
    if supervisor is None:
        print(f"no services were started under {args[0]}", file=sys.stderr)
        return 1
    while supervisor.state_file.load().services:
        try:
            for name in supervisor.heal():
                print(f"{_now()} restarted {name}", flush=True)
        except Exception:  # a bad cycle must not end the watcher; the next one tries again
            print(f"{_now()} check failed:\n{traceback.format_exc()}", flush=True)
        time.sleep(supervisor.cfg.watch_interval)
    return 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


if __name__ == "__main__":
    sys.exit(main())
