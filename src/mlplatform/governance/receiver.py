"""The audit receiver: MLflow registry webhooks in, audit records out, bad alias moves undone.

``mlp up`` runs it (``services.audit_receiver``) as::

    python -m mlplatform.governance.receiver --port 15010 --tracking-uri http://127.0.0.1:15000 \\
        --store-root s3://mlplatform/artifacts --secret-file .../webhook.secret \\
        --key-file .mlplatform/cache.key [--production-alias champion] [--reconcile-every 60]

Secrets stay off the command line: the webhook secret and the platform key are read from
files (``MLPLATFORM_CACHE_KEY`` wins over ``--key-file``, as for the CLI), the store's
options (its credentials) from ``MLPLATFORM_AUDIT_STORAGE_OPTIONS`` (JSON), the MLflow
account from ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``.

``POST /`` with a delivery: 200 once recorded (and reverted, where needed); 400 malformed,
401 forged or expired, 409 replayed, 413 too large (each refusal is one line in the log and
nothing in the audit log: an unauthenticated sender must not be able to write there); 500
when the store or MLflow failed (MLflow retries then, and the retry is accepted).
``GET /health``: 200. One lock serialises deliveries and the reconciliation timer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlplatform.artifacts.signing import CACHE_KEY_ENV, Signer
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.governance import audit, reconcile, webhooks
from mlplatform.governance.check import VersionFacts, facts_from_version
from mlplatform.governance.rules import RULES, STAGE_TAG, RuleSet
from mlplatform.governance.webhooks import Delivery, Event, Rejection, ReplayGuard

__all__ = ["OPTIONS_ENV", "Receiver", "ReceiverConfig", "main", "serve"]

OPTIONS_ENV = "MLPLATFORM_AUDIT_STORAGE_OPTIONS"
_MAX_BODY = 1 << 20
_log = logging.getLogger("mlplatform.audit_receiver")


@dataclass(frozen=True)
class ReceiverConfig:
    """Everything the receiver needs (built by ``main`` from its arguments, or by a test)."""

    tracking_uri: str
    store_root: str
    key: str
    secret: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    rules: RuleSet = RULES
    tolerance: int = webhooks.TOLERANCE
    reconcile_every: float = 60.0  # seconds; 0: only at start

    def __repr__(self) -> str:  # never print the secrets
        return f"ReceiverConfig({self.tracking_uri!r}, {self.store_root!r})"


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


class Receiver:
    """Handles deliveries and reconciliations (the HTTP server only moves bytes)."""

    def __init__(self, cfg: ReceiverConfig) -> None:
        self.cfg = cfg
        self.guard = ReplayGuard(cfg.tolerance)
        self.lock = threading.Lock()
        self.store = ArtifactStore(cfg.store_root, dict(cfg.storage_options))
        self.signer = Signer(cfg.key)

    def handle(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Answer:
        """Check, record and act on one delivery; never raises."""
        delivery = Delivery.from_headers(headers, body)
        with self.lock:
            refused = webhooks.check_delivery(
                delivery, self.cfg.secret, now=time.time() if now is None else now,
                guard=self.guard, tolerance=self.cfg.tolerance,
            )  # fmt: skip
        if refused is not None:
            return _refuse(delivery, refused)
        assert delivery.delivery_id is not None
        event = webhooks.parse_event(body, delivery.delivery_id)
        if isinstance(event, Rejection):
            return _refuse(delivery, event)
        try:
            with self.lock:
                return self._record(event)
        except Exception:
            _log.exception(
                "delivery %s (%s) failed; MLflow retries it", event.delivery_id, event.name
            )
            self.guard.seen.pop(event.delivery_id, None)  # let MLflow's retry in
            return Answer(500, "could not record the event")

    def reconcile_now(self, model: str | None = None) -> reconcile.Reconciled:
        with self.lock:
            done = reconcile.reconcile(
                tracking_uri=self.cfg.tracking_uri, store_root=self.cfg.store_root,
                storage_options=self.cfg.storage_options, key=self.cfg.key, model=model,
            )  # fmt: skip
        if done.records or done.baseline:
            what = "saved the baseline" if done.baseline else f"{len(done.records)} record(s)"
            _log.info("reconciled: %s", what)
        return done

    # ---- one event ----------------------------------------------------------------------
    def _record(self, event: Event) -> Answer:
        snap = reconcile.load_snapshot(self.store, self.signer) or reconcile.Snapshot()
        after = reconcile.apply_event(snap, event)
        if after == snap and _followed(event):
            _log.info("delivery %s (%s): already recorded", event.delivery_id, event.name)
            return Answer(200, "already recorded")
        alias = str(event.data.get("alias", ""))
        previous = snap.alias(event.model, alias) if alias else None
        records = webhooks.to_records(event, previous=previous)
        for record in records:
            self._append(record)
        if event.name == "model_version_alias.created":
            after = self._maybe_revert(event, alias, previous, after)
        reconcile.save_snapshot(self.store, self.signer, after)
        _log.info("delivery %s (%s): %d record(s)", event.delivery_id, event.name, len(records))
        return Answer(200, "recorded")

    def _maybe_revert(
        self, event: Event, alias: str, previous: str | None, snap: reconcile.Snapshot
    ) -> reconcile.Snapshot:
        """Undo a production alias move the rules do not allow; the snapshot after it."""
        client = _client(self.cfg.tracking_uri)
        holder = (client.get_registered_model(event.model).aliases or {}).get(alias)
        if str(holder) != event.version:
            return snap  # moved again since: the later delivery decides
        broken = webhooks.must_revert(
            event, _facts(client, event.model, event.version), rules=self.cfg.rules
        )
        if not broken:
            return snap
        earlier = _facts(client, event.model, previous) if previous != event.version else None
        target = webhooks.revert_target(alias, earlier, rules=self.cfg.rules)
        if target is None:
            client.delete_registered_model_alias(event.model, alias)
        else:
            client.set_registered_model_alias(event.model, alias, target)
        self._append(webhooks.revert_record(event, target, broken))
        _log.warning("reverted %s@%s off v%s: %s", event.model, alias, event.version, broken[0])
        undo = Event(
            "model_version_alias", "created" if target else "deleted",
            {"name": event.model, "alias": alias, "version": target}, event.delivery_id,
        )  # fmt: skip
        return reconcile.apply_event(snap, undo)

    def _append(self, record: audit.AuditRecord) -> None:
        audit.append(
            record, store_root=self.cfg.store_root, storage_options=self.cfg.storage_options,
            key=self.cfg.key, tracking_uri=self.cfg.tracking_uri,
        )  # fmt: skip


def _followed(event: Event) -> bool:
    """Events the snapshot records fully (a repeat of one changes nothing). Not a model's
    creation: a version's event may arrive first (MLflow sends from a thread pool) and put
    the model in the snapshot."""
    if event.entity == "model_version_tag":
        return event.data.get("key") == STAGE_TAG
    return event.name in (
        "model_version.created",
        "model_version_alias.created",
        "model_version_alias.deleted",
    )


def _refuse(delivery: Delivery, why: Rejection) -> Answer:
    _log.warning("rejected delivery %r: %s (HTTP %d)", delivery.delivery_id, why.reason, why.status)
    return Answer(why.status, why.reason)


def _client(tracking_uri: str) -> Any:
    from mlplatform.tracking._mlflow import client_for

    return client_for(tracking_uri)


@dataclass(frozen=True)
class _Version:
    name: str
    version: int
    tags: Mapping[str, str]
    run_id: str | None


def _facts(client: Any, model: str, version: str | None) -> VersionFacts | None:
    if version is None:
        return None
    from mlflow.exceptions import MlflowException

    try:
        found = client.get_model_version(model, version)
    except MlflowException:
        return None  # deleted since: nothing to point at
    return facts_from_version(
        _Version(found.name, int(found.version), dict(found.tags or {}), found.run_id)
    )


# ---- HTTP ---------------------------------------------------------------------------------
def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "mlplatform-audit-receiver"

        def do_GET(self) -> None:
            self._answer(Answer(200, "ok") if self.path == "/health" else Answer(404, "not found"))

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._answer(Answer(411, "Content-Length required"))
                return
            if length < 0 or length > _MAX_BODY:
                self._answer(Answer(413, f"body over {_MAX_BODY} bytes"))
                return
            body = self.rfile.read(length)
            self._answer(receiver.handle(dict(self.headers.items()), body))

        def _answer(self, answer: Answer) -> None:
            data = json.dumps({"status": answer.status, "message": answer.text}).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            _log.debug(format, *args)

    return Handler


def serve(cfg: ReceiverConfig, host: str, port: int, stop: threading.Event | None = None) -> None:
    """Serve until ``stop`` is set (or the process ends), reconciling once before the first
    delivery is taken and then every ``cfg.reconcile_every`` seconds."""
    receiver = Receiver(cfg)
    stop = stop or threading.Event()
    _reconcile_logged(receiver)  # before serving: no delivery is taken for the baseline
    server = ThreadingHTTPServer((host, port), _handler(receiver))
    server.daemon_threads = True
    timer = threading.Thread(target=_timer, args=(receiver, stop), daemon=True)
    timer.start()
    threading.Thread(target=_stop_on, args=(stop, server), daemon=True).start()
    _log.info("audit receiver on http://%s:%d for %s", host, port, cfg.tracking_uri)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def _stop_on(stop: threading.Event, server: ThreadingHTTPServer) -> None:
    stop.wait()
    server.shutdown()


def _timer(receiver: Receiver, stop: threading.Event) -> None:
    every = receiver.cfg.reconcile_every
    while every > 0 and not stop.wait(every):
        _reconcile_logged(receiver)


def _reconcile_logged(receiver: Receiver) -> None:
    try:
        receiver.reconcile_now()
    except Exception:
        _log.exception("reconciliation failed; the timer tries again")


# ---- command line -------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mlplatform.governance.receiver",
        description="Receive MLflow registry webhooks into the audit log.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tracking-uri", required=True)
    p.add_argument("--store-root", required=True, help="the artifact store holding audit/")
    p.add_argument("--secret-file", type=Path, required=True, help="the webhook secret")
    p.add_argument("--key-file", type=Path, help=f"the platform key ({CACHE_KEY_ENV} wins)")
    p.add_argument("--production-alias", action="append", default=[], dest="aliases")
    p.add_argument("--reconcile-every", type=float, default=60.0, help="seconds; 0: at start")
    p.add_argument("--tolerance", type=int, default=webhooks.TOLERANCE, help="seconds")
    return p


def config_from(args: argparse.Namespace, environ: Mapping[str, str]) -> ReceiverConfig:
    key = environ.get(CACHE_KEY_ENV) or (args.key_file.read_text().strip() if args.key_file else "")
    if not key:
        raise SystemExit(f"no platform key: set {CACHE_KEY_ENV} or pass --key-file")
    return ReceiverConfig(
        tracking_uri=args.tracking_uri,
        store_root=args.store_root,
        key=key,
        secret=args.secret_file.read_text().strip(),
        storage_options=json.loads(environ.get(OPTIONS_ENV) or "{}"),
        rules=RULES.with_production_aliases(tuple(args.aliases)),
        tolerance=args.tolerance,
        reconcile_every=args.reconcile_every,
    )


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    serve(config_from(args, os.environ), args.host, args.port)


if __name__ == "__main__":
    main()
