"""``python -m mlplatform.serving``: the model server's container entrypoint.

Flags follow KServe's model-server conventions (``--model_name``, ``--model_dir``,
``--http_port`` are accepted beside ``--name``, ``--model-uri``, ``--port``), so the same
image runs as a KServe ServingRuntime and on a laptop. Users call ``mlp serve``, which reads
the project's settings and ends up here.

Payload sampling (off by default: payloads are personal data, docs/serving.md) is the same in
both front ends (``--server mlplatform`` and ``--server kserve``): ``--sample-fraction`` of
the requests go to Parquet under ``--samples-store`` (``serving-samples/<model>/<day>/``),
days older than ``--sample-retention-days`` are deleted by the server, and the samples feed a
drift monitor against the reference profile registered with the served version (from the
registry at ``--tracking-uri``), whose gauges are on ``/metrics``.

In the cluster KServe's storage initializer copies the model version to ``/mnt/models``, a
folder: ``--registered-as NAME/VERSION`` says which registered version it is a copy of, so the
server labels it with that version (not ``local``) and monitors it against that version's
reference profile (read from ``--tracking-uri``, or MLFLOW_TRACKING_URI).

Feature store: ``--feature-store`` (default: ``MLPLATFORM_FEATURE_STORE``) names a
``feature_store.yaml`` whose ``${VARIABLES}`` are in the environment (in the cluster, the
platform's file mounted from the ``mlplatform-feature-store`` ConfigMap, the variables from the
Secret of that name). A version tagged ``mlplatform.feature_service`` then takes requests with
only its entity keys (docs/features.md); a model folder carries no tags, so ``--feature-service
NAME`` says which service its version was trained on (``mlp deploy model`` passes the tag).

Examples::

    python -m mlplatform.serving --model-uri models:/churn@champion --tracking-uri http://mlflow:5000
    python -m mlplatform.serving --model-dir /mnt/models --name churn --port 8080
    python -m mlplatform.serving --model-uri models:/churn@champion --canary challenger=10
    python -m mlplatform.serving --model-uri models:/churn@champion --sample-fraction 0.05 \\
        --samples-store s3://BUCKET --sample-retention-days 30
    python -m mlplatform.serving --model-dir /mnt/models --registered-as churn/3 \\
        --tracking-uri http://mlflow:5000 --sample-fraction 0.05 --samples-store s3://BUCKET
    MLPLATFORM_FEATURE_STORE=/etc/mlplatform/feature-store/feature_store.yaml \\
        python -m mlplatform.serving --model-dir /mnt/models --name churn --feature-service churn
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path

from mlplatform._exit import print_error
from mlplatform.errors import ConfigError, MlplatformError
from mlplatform.features.layout import CONFIG_ENV
from mlplatform.grammar import ModelRef
from mlplatform.retention import SAMPLE_FRACTION, SAMPLE_RETENTION_DAYS
from mlplatform.serving.config import (
    BatchConfig,
    SamplingConfig,
    ServerConfig,
    VariantConfig,
    registered_copy,
    variants_for,
)
from mlplatform.serving.loader import model_source
from mlplatform.serving.sampler import MonitorFactory, registry_monitors
from mlplatform.serving.tracing import server_tracing
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
    p.add_argument("--registered-as", metavar="NAME/VERSION",
                   help="the model folder is a copy of this registered version (KServe's "
                        "/mnt/models): served and monitored for drift as that version")  # fmt: skip
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI)")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", "--http_port", dest="port", type=int, default=8080)
    p.add_argument("--canary", action="append", default=[], metavar="ALIAS=PCT",
                   help="also serve NAME@ALIAS (or NAME@VERSION) with a whole PCT %% of the "
                        "traffic, 1 to 99")  # fmt: skip
    p.add_argument("--max-batch-size", type=int, default=64)
    p.add_argument("--max-batch-wait-ms", type=float, default=1.0)
    p.add_argument("--max-queue", type=int, default=1024)
    p.add_argument("--request-timeout-s", type=float, default=10.0,
                   help="a request still queued after this is answered 503 "
                        "(default: %(default)s)")  # fmt: skip
    p.add_argument("--predict-timeout-s", type=float, default=30.0,
                   help="a request with no answer REQUEST_TIMEOUT_S + this after it came (a hung "
                        "model) is answered 503 (default: %(default)s)")  # fmt: skip
    p.add_argument("--sample-fraction", type=float, default=SAMPLE_FRACTION,
                   help="share of requests whose payloads are kept for drift, 0 to 1 "
                        "(default: %(default)s, off; payloads are personal data)")  # fmt: skip
    p.add_argument("--samples-store", metavar="URL",
                   help="fsspec URL where sampled payloads are written, under "
                        "serving-samples/MODEL/DAY/ (s3://BUCKET, gs://BUCKET, "
                        "abfs://CONTAINER@ACCOUNT.dfs.core.windows.net, a folder); without "
                        "it samples only feed the drift monitor")  # fmt: skip
    p.add_argument("--sample-retention-days", type=int, default=SAMPLE_RETENTION_DAYS,
                   help="days of samples kept, 1 to 3650; the server deletes older days at "
                        "start and every hour (default: %(default)s)")  # fmt: skip
    p.add_argument("--sample-flush-interval-s", type=float, default=60.0,
                   help="seconds between writes of the sampled payloads "
                        "(default: %(default)s)")  # fmt: skip
    p.add_argument("--drift-window-rows", type=int, default=1000,
                   help="sampled rows per drift check against the version's reference "
                        "profile (default: %(default)s)")  # fmt: skip
    p.add_argument("--reload-interval-s", type=float, default=10.0)
    p.add_argument("--sticky-header", default="x-session-id")
    p.add_argument("--allow-pickle-models", action="store_true",
                   help="load pickle, cloudpickle and pyfunc models (they run any code they "
                        "hold; trust everyone who can write to the registry)")  # fmt: skip
    p.add_argument("--trusted-type", action="append", default=[], metavar="MODULE.TYPE",
                   help="a type skops may load beyond the platform's (repeatable)")  # fmt: skip
    p.add_argument("--feature-store", metavar="FILE", default=os.environ.get(CONFIG_ENV) or None,
                   help="feature_store.yaml of the store that versions tagged with a feature "
                        "service fetch their features from, its ${VARIABLES} taken from the "
                        f"environment (default: {CONFIG_ENV})")  # fmt: skip
    p.add_argument("--feature-service", metavar="NAME",
                   help="the model folder's version was trained on this feature service (its "
                        "mlplatform.feature_service tag): serve it from entity keys")  # fmt: skip
    p.add_argument("--server", choices=["mlplatform", "kserve"], default="mlplatform",
                   help="HTTP front end: ours (default) or KServe's ModelServer")  # fmt: skip
    return p


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    source = model_source(args.model_uri)
    copy_of = registered_copy(args.registered_as) if args.registered_as else None
    registered = source if isinstance(source, ModelRef) else copy_of
    name = args.name or (registered.name if registered else None)
    if not name:
        raise MlplatformError(
            "a model folder needs a name",
            "Pass --name NAME (KServe: --model_name), or --registered-as NAME/VERSION.",
        )
    variants = variants_for(source, args.canary, copy_of)
    if args.feature_service:
        variants = (_served_from(variants[0], source, args.feature_service), *variants[1:])
    return ServerConfig(
        name=name,
        variants=variants,
        tracking_uri=args.tracking_uri,
        host=args.host,
        port=args.port,
        batch=BatchConfig(
            args.max_batch_size,
            args.max_batch_wait_ms,
            args.max_queue,
            args.request_timeout_s,
            args.predict_timeout_s,
        ),
        sampling=SamplingConfig(
            fraction=args.sample_fraction,
            store_url=args.samples_store,
            retention_days=args.sample_retention_days,
            flush_interval_s=args.sample_flush_interval_s,
            drift_window_rows=args.drift_window_rows,
        ),
        reload_interval_s=args.reload_interval_s,
        sticky_header=args.sticky_header,
        trust=ModelTrust(tuple(args.trusted_type), args.allow_pickle_models),
        feature_store=feature_store_file(args.feature_store),
    )


def feature_store_file(path: str | None) -> Path | None:
    """``--feature-store``: an existing ``feature_store.yaml``, or None (no feature store).

    Raises:
        ConfigError: the file is not there.
    """
    if not path:
        return None
    found = Path(path)
    if not found.is_file():
        raise ConfigError(
            f"the feature store configuration {path} does not exist",
            f"Mount the cluster's feature_store.yaml there (ConfigMap mlplatform-feature-store), "
            f"or point --feature-store ({CONFIG_ENV}) at a feature_store.yaml; unset it to "
            "serve without a feature store.",
        )
    return found


def _served_from(variant: VariantConfig, source: ModelRef | Path, service: str) -> VariantConfig:
    """The folder's variant, served from ``service`` (``--feature-service``)."""
    if not isinstance(source, Path):
        raise ConfigError(
            f"--feature-service {service} is for a model folder, and {source} is a registered "
            "model",
            "Drop --feature-service: a registered version is served from the feature service "
            "of its mlplatform.feature_service tag.",
        )
    return dataclasses.replace(variant, feature_service=service)


def drift_monitors(config: ServerConfig) -> MonitorFactory | None:
    """Drift monitors against the profiles in the registry, when sampling is on (a model
    folder without ``--registered-as``, or a version registered without a profile, is sampled
    but not monitored)."""
    if config.sampling.fraction <= 0:
        return None
    import mlflow

    from mlplatform.drift import DriftConfig

    tracking_uri = config.tracking_uri or mlflow.get_tracking_uri()
    window = config.sampling.drift_window_rows
    return registry_monitors(tracking_uri, DriftConfig(), window_rows=window)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = config_from_args(args)
        monitors = drift_monitors(config)
        if args.server == "kserve":
            import kserve

            from mlplatform.serving.kserve_model import KServeModel

            model = KServeModel(config, monitors)
            model.load()
            kserve.ModelServer(http_port=config.port, enable_grpc=False).start([model])
            return 0
        from mlplatform.serving.server import build_app, serve

        app = build_app(config, monitors=monitors, tracing=server_tracing(config.name))
        serve(app, config.host, config.port)
    except Exception as exc:  # the one printer and exit status of every command (docs/cli.md)
        return print_error(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
