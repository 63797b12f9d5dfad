"""A byte meter on one fsspec filesystem object: what its public calls read and write.

Nothing is replaced: every call still goes on to the real store. Used by the cache re-run
benchmark's worker (a process of its own, run under whichever ``mlplatform`` it measures, so
this file imports nothing of ours) and by tests/services/test_store_remote_checks.py, which
loads it by path and patches through pytest's ``monkeypatch.setattr`` so that the filesystem
object (fsspec caches it across tests) is restored afterwards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

READS = ("cat_file", "get_file", "cat", "get", "cat_ranges")
WRITES = ("pipe_file", "put_file", "pipe", "put")


class Meter:
    """Counts bytes through the public calls of one filesystem object, the calls themselves,
    and with s3fs every S3 request by operation (``_call_s3``)."""

    def __init__(self, fs: Any, patch: Callable[[Any, str, Any], None] = setattr) -> None:
        self.read = 0
        self.written = 0
        self.calls: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        for name in (*READS, *WRITES, "open"):
            patch(fs, name, self._counting(name, getattr(fs, name)))
        if hasattr(fs, "_call_s3"):
            patch(fs, "_call_s3", self._counting_requests(fs._call_s3))

    @property
    def moved(self) -> int:
        return self.read + self.written

    def _counting(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            out = call(*args, **kwargs)
            if name == "open":
                return self._metered(out)
            if name in ("cat_file", "cat", "cat_ranges"):
                self.read += _length(out)
            elif name in ("get_file", "get"):
                self.read += Path(args[1]).stat().st_size
            elif name in ("pipe_file", "pipe"):
                self.written += len(args[1])
            elif name in ("put_file", "put"):
                self.written += Path(args[0]).stat().st_size
            return out

        return counted

    def _counting_requests(self, call: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(method: str, *args: Any, **kwargs: Any) -> Any:
            self.requests[method] += 1
            return await call(method, *args, **kwargs)

        return counted

    def _metered(self, fh: Any) -> Any:
        read, write = fh.read, fh.write

        def metered_read(*args: Any) -> Any:
            data = read(*args)
            self.read += len(data)
            return data

        def metered_write(data: Any) -> Any:
            self.written += len(data)
            return write(data)

        fh.read, fh.write = metered_read, metered_write
        return fh


def _length(out: Any) -> int:
    if isinstance(out, bytes | bytearray):
        return len(out)
    if isinstance(out, dict):
        return sum(_length(v) for v in out.values())
    return sum(_length(v) for v in out) if isinstance(out, list) else 0
