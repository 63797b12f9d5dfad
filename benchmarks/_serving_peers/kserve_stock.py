"""Stock KServe: a ``kserve.Model`` that loads a joblib file, on ``kserve.ModelServer``.

Written the straightforward way KServe's docs and its own sklearnserver show: ``load()``
reads the file, ``predict()`` takes V1 ``{"instances": ...}`` or a V2 ``InferRequest``
through ``kserve.utils.utils.get_predict_input`` / ``get_predict_response``. The server is
KServe's as shipped (one uvicorn worker, its middlewares, Prometheus metrics, logging
configured by KServe) with gRPC off. Per-request log lines are off, as for every server the
benchmark runs: ``--enable_latency_logging false``, the ``uvicorn.access`` and
``kserve.trace`` loggers at WARNING, and FastAPI's "ORJSONResponse is deprecated" warning
ignored (with the FastAPI the platform locks, 0.165, which KServe 0.21 accepts, it is printed
on every request). ``--per-request-logs`` leaves all of them as shipped.

    python kserve_stock.py --model-path model.joblib --model_name iris --http_port 8080
"""

from __future__ import annotations

import argparse
import logging
import warnings
from typing import Any

import joblib
import kserve
from kserve.utils.utils import get_predict_input, get_predict_response

PER_REQUEST_LOGGERS = ("uvicorn.access", "kserve.trace")
PER_REQUEST_WARNING = "ORJSONResponse is deprecated"


class SKLearnModel(kserve.Model):  # type: ignore[misc]
    def __init__(self, name: str, model_path: str) -> None:
        super().__init__(name)
        self.model_path = model_path
        self._model: Any = None
        self.load()

    def load(self) -> bool:
        self._model = joblib.load(self.model_path)
        self.ready = True
        return self.ready

    def predict(self, payload: Any, headers: dict[str, str] | None = None) -> Any:
        instances = get_predict_input(payload)
        result = self._model.predict(instances)
        return get_predict_response(payload, result, self.name)


def main() -> None:
    # kserve.model_server parses sys.argv itself (parse_known_args) when it is imported;
    # ours are the flags it does not know.
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-path", required=True)
    parser.add_argument("--model_name", default="model")
    parser.add_argument("--per-request-logs", action="store_true")
    args, _ = parser.parse_known_args()
    quiet = not args.per_request_logs
    server = kserve.ModelServer(enable_grpc=False, enable_latency_logging=not quiet)
    if quiet:  # after ModelServer(): it configures KServe's logging in its constructor
        for name in PER_REQUEST_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        warnings.filterwarnings("ignore", message=PER_REQUEST_WARNING)
    server.start([SKLearnModel(args.model_name, args.model_path)])


if __name__ == "__main__":
    main()
