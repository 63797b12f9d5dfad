"""``python -m mlplatform.serving``: the model server's container entrypoint.

Flags follow KServe's model-server conventions (``--model_name``, ``--model_dir``,
``--http_port`` are accepted beside ``--name``, ``--model-uri``, ``--port``), so the same
image runs as a KServe ServingRuntime and on a laptop. Users call ``mlp serve``, which reads
the project's settings and ends up here.

Examples::

    python -m mlplatform.serving --model-uri models:/churn@champion --tracking-uri http://mlflow:5000
    python -m mlplatform.serving --model-dir /mnt/models --name churn --port 8080
    python -m mlplatform.serving --model-uri models:/churn@champion --canary challenger=10
"""

from __future__ import annotations

import argparse
import logging
import sys

from mlplatform._exit import print_error
from mlplatform.errors import MlplatformError
from mlplatform.grammar import ModelRef
from mlplatform.retention import SAMPLE_FRACTION, SAMPLE_RETENTION_DAYS
from mlplatform.serving.config import (
    BatchConfig,
    SamplingConfig,
    ServerConfig,
    variants_for,
)
from mlplatform.serving.loader import model_source
from mlplatform.serving.trust import ModelTrust


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mlplatform.serving",
        description="Serve an MLflow model on the KServe V1/V2 REST protocol.",
        epilog=__doc__.split("Examples::", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = ("a model reference (NAME, NAME@ALIAS, NAME@VERSION, NAME/VERSION, "
             "models:/NAME@ALIAS, models:/NAME/VERSION; docs/model-references.md) "
             "or an MLflow model folder")  # fmt: skip
    p.add_argument("--model-uri", "--model-dir", "--model_dir", dest="model_uri", required=True,
                   help=where)  # fmt: skip
    p.add_argument("--name", "--model_name", dest="name", help="served name (default: NAME)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI)")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", "--http_port", dest="port", type=int, default=8080)
    p.add_argument("--canary", action="append", default=[], metavar="ALIAS=PCT",
                   help="also serve NAME@ALIAS (or NAME@VERSION) with a whole PCT %% of the "
                        "traffic, 1 to 99")  # fmt: skip
    p.add_argument("--max-batch-size", type=int, default=64)
    p.add_argument("--max-batch-wait-ms", type=float, default=1.0)
    p.add_argument("--max-queue", type=int, default=1024)
    p.add_argument("--request-timeout-s", type=float, default=10.0)
    p.add_argument("--sample-fraction", type=float, default=SAMPLE_FRACTION,
                   help="share of requests whose payloads are kept for drift, 0 to 1 "
                        "(default: %(default)s, off; payloads are personal data)")  # fmt: skip
    p.add_argument("--sample-retention-days", type=int, default=SAMPLE_RETENTION_DAYS,
                   help="days of samples kept; older days are deleted "
                        "(default: %(default)s)")  # fmt: skip
    p.add_argument("--samples-store", help="artifact store URL for sampled payloads")
    p.add_argument("--reload-interval-s", type=float, default=10.0)
    p.add_argument("--sticky-header", default="x-session-id")
    p.add_argument("--allow-pickle-models", action="store_true",
                   help="load pickle, cloudpickle and pyfunc models (they run any code they "
                        "hold; trust everyone who can write to the registry)")  # fmt: skip
    p.add_argument("--trusted-type", action="append", default=[], metavar="MODULE.TYPE",
                   help="a type skops may load beyond the platform's (repeatable)")  # fmt: skip
    p.add_argument("--server", choices=["mlplatform", "kserve"], default="mlplatform",
                   help="HTTP front end: ours (default) or KServe's ModelServer")  # fmt: skip
    return p


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    source = model_source(args.model_uri)
    name = args.name or (source.name if isinstance(source, ModelRef) else None)
    if not name:
        raise MlplatformError(
            "a model folder needs a name", "Pass --name NAME (KServe: --model_name)."
        )
    return ServerConfig(
        name=name,
        variants=variants_for(source, args.canary),
        tracking_uri=args.tracking_uri,
        host=args.host,
        port=args.port,
        batch=BatchConfig(
            args.max_batch_size, args.max_batch_wait_ms, args.max_queue, args.request_timeout_s
        ),
        sampling=SamplingConfig(
            fraction=args.sample_fraction,
            store_url=args.samples_store,
            retention_days=args.sample_retention_days,
        ),
        reload_interval_s=args.reload_interval_s,
        sticky_header=args.sticky_header,
        trust=ModelTrust(tuple(args.trusted_type), args.allow_pickle_models),
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = config_from_args(args)
        if args.server == "kserve":
            import kserve

            from mlplatform.serving.kserve_model import KServeModel

            model = KServeModel(config)
            model.load()
            kserve.ModelServer(http_port=config.port, enable_grpc=False).start([model])
            return 0
        from mlplatform.serving.server import build_app, serve

        app = build_app(config)
        serve(app, config.host, config.port)
    except Exception as exc:  # the one printer and exit status of every command (docs/cli.md)
        return print_error(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
