"""Feature enrichment: a version trained on a feature service takes requests with only the
entity keys, and the server fetches the rest from the online store, in the request's batch.

A registered version tagged ``mlplatform.feature_service`` (``SERVICE_TAG``, set by the
``register`` step after ``historical_features``) gets a ``FeatureEnricher`` when it is loaded
(once per version, on the loading thread; ``OnlineFeatures`` reads the registry then). Then:

- ``decode`` reads a request as entity rows first (the join keys plus the inputs the service
  does not provide, by the server's usual V1/V2 parsing), else as a full row of the model's
  inputs: requests that carry every feature keep working, and a batch may mix both;
- the batcher hands ``enrich`` a micro-batch's blocks on the predict thread: all entity rows
  of the batch go to the online store in ONE call, then each request's block is assembled in
  the model's input order and checked against its signature like any request;
- a request whose entity the store does not have is answered 422 naming the key (404 stays
  for unknown routes, models and versions), the others of its batch are predicted; when the
  store does not answer, the batch's entity-key requests get 503 with ``Retry-After`` and
  full-feature requests are still predicted. Both are counted in
  ``mlplatform_feature_store_errors_total{model,reason}``.

The blocks the model predicted on (fetched features included) are what the payload sampler
keeps, so drift compares what the model saw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlplatform.errors import (
    EntityNotFoundError,
    FeatureStoreError,
    FeatureStoreUnavailableError,
    InferenceInputError,
    OverloadedError,
    ServingError,
)
from mlplatform.features.layout import FeatureStoreLayout
from mlplatform.features.online import OnlineFeatures
from mlplatform.features.training import SERVICE_TAG
from mlplatform.serving.metrics import FEATURE_STORE_ERRORS
from mlplatform.serving.signature import Block, InputField, InputSchema
from mlplatform.serving.tensors import v2_datatype

if TYPE_CHECKING:
    from mlplatform.serving.loader import LoadedModel

__all__ = ["RETRY_AFTER_S", "EntityRows", "FeatureEnricher", "enrich_blocks", "enricher_for"]

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5  # Retry-After of a 503 when the online store does not answer


@dataclass(frozen=True)
class EntityRows:
    """A request's rows that still need their features: the join keys and the inputs the
    feature service does not give, one column each."""

    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)


class FeatureEnricher:
    """Fills one served version's inputs from its feature service's online values."""

    def __init__(self, online: OnlineFeatures, schema: InputSchema, model: str) -> None:
        """Raises:
        ServingError: the signature is a tensor, or shares no input with the service."""
        offered = set(online.features)
        fetched = tuple(n for n in schema.names if n in offered)
        if schema.tensor or not fetched:
            raise ServingError(
                f"model {model!r} is tagged with feature service {online.service!r}, whose "
                f"features ({', '.join(online.features)}) are none of its inputs",
                f"Register the model trained on that service's columns, or remove the "
                f"{SERVICE_TAG} tag from the version.",
            )
        keys = [InputField(k, _datatype(d)) for k, d in online.key_dtypes.items()]
        given = {*fetched, *online.key_dtypes}
        rest = [f for f in schema.fields if f.name not in given]
        fields = (*keys, *rest)
        self.online, self.schema, self.fetched = online, schema, fetched
        self.request = InputSchema(fields, len(fields), tensor=False, as_frame=True)
        self._hint = (
            f"Or send only {', '.join(f.name for f in fields)}: the server fetches "
            f"{', '.join(fetched)} from feature service {online.service!r}."
        )
        self._unavailable = FEATURE_STORE_ERRORS.labels(model, "unavailable")
        self._not_found = FEATURE_STORE_ERRORS.labels(model, "entity_not_found")

    def decode(self, decode: Callable[[InputSchema], Block]) -> Block | EntityRows:
        """A request (``decode`` parses it against a schema) as entity rows, else as full
        rows of the model's inputs.

        Raises:
            InferenceInputError: neither; the model's own complaint, and how to send keys.
        """
        try:
            frame = decode(self.request)
        except InferenceInputError as keys_error:
            try:
                return decode(self.schema)
            except InferenceInputError as exc:
                hint = f"{exc.hint} {self._hint} (As entity rows: {keys_error.headline}.)"
                raise InferenceInputError(exc.headline, hint, status=exc.status) from None
        assert isinstance(frame, pd.DataFrame)  # the request schema reads frames (as_frame)
        return EntityRows(frame)

    def enrich(self, blocks: Sequence[Block | EntityRows]) -> list[Block | Exception]:
        """Each block ready for the model, or the error its request gets; one online read for
        every entity row of the batch (blocking: the batcher calls it on the predict thread)."""
        asked = [(i, b.frame) for i, b in enumerate(blocks) if isinstance(b, EntityRows)]
        answers: dict[int, Block | Exception] = {}
        if asked:
            answers = self._fetch(asked)
        return [answers[i] if isinstance(b, EntityRows) else b for i, b in enumerate(blocks)]

    def _fetch(self, asked: list[tuple[int, pd.DataFrame]]) -> dict[int, Block | Exception]:
        frames = [frame for _, frame in asked]
        rows = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        try:
            lookup = self.online.lookup(rows.reset_index(drop=True))
        except FeatureStoreUnavailableError as exc:
            self._unavailable.inc(len(asked))
            return {
                i: OverloadedError(
                    f"the features of this request cannot be fetched: {exc.headline}",
                    exc.hint,
                    status=503,
                    retry_after=RETRY_AFTER_S,
                )
                for i, _ in asked
            }
        answers: dict[int, Block | Exception] = {}
        start = 0
        for i, frame in asked:
            stop = start + len(frame)
            part = lookup.features.iloc[start:stop]
            answers[i] = self._assemble(frame, part, lookup.found[start:stop])
            start = stop
        return answers

    def _assemble(
        self, request: pd.DataFrame, features: pd.DataFrame, found: np.ndarray[Any, Any]
    ) -> Block | Exception:
        """One request's block in the model's input order, checked like any request."""
        if not found.all():
            self._not_found.inc()
            keys = self.online.missing_keys(request.reset_index(drop=True), found)
            missing = EntityNotFoundError(keys)
            return InferenceInputError(missing.headline, missing.hint, status=422)
        columns: dict[str, list[Any]] = {}
        for name in self.schema.names:
            source = features if name in self.fetched else request
            if name in source.columns:
                columns[name] = source[name].tolist()
        try:  # the signature's checks (types, nulls of required inputs), as for a request
            return self.schema.from_v1({"inputs": columns})
        except InferenceInputError as exc:
            return InferenceInputError(
                f"the fetched features do not fit the model: {exc.headline}",
                f"Check feature service {self.online.service!r} against the model's "
                "signature (GET /v2/models/NAME).",
                status=422,
            )


def enrich_blocks(
    features: FeatureEnricher | None, blocks: Sequence[Block | EntityRows]
) -> list[Block | Exception]:
    """``features.enrich``; without an enricher (the version was swapped for one that is
    not served from the feature store while the request waited) entity rows get a 422."""
    if features is not None:
        return features.enrich(blocks)
    return [
        InferenceInputError(
            "the model version now served takes every input, not entity keys",
            "Send every input the model expects (GET /v2/models/NAME).",
            status=422,
        )
        if isinstance(b, EntityRows)
        else b
        for b in blocks
    ]


def enricher_for(
    model: LoadedModel, layout: FeatureStoreLayout | Path | None, service: str | None = None
) -> FeatureEnricher | None:
    """The enricher of a version tagged with a feature service (None when it is not);
    ``service`` stands for the tag of a model folder, which has none (``VariantConfig``).

    Raises:
        ServingError: the server has no feature store, or it lacks the service or cannot
            read its registry. An online store that is down is only logged: the version is
            served, its entity-key requests get 503 until the store answers.
    """
    service = model.tags.get(SERVICE_TAG) or service
    if not service:
        return None
    what = f"model {model.name!r} v{model.version} is served from feature service {service!r}"
    if layout is None:
        raise ServingError(
            f"{what}, and this server has no feature store",
            "Serve it from the project whose feature repository defines the service "
            "([features] repo in mlplatform.toml, MLPLATFORM_FEATURES__REPO); in a container, "
            "set MLPLATFORM_FEATURE_STORE to its feature_store.yaml (--feature-store).",
        )
    try:
        online = OnlineFeatures.open(layout, service)
    except FeatureStoreError as exc:
        raise ServingError(f"{what}: {exc.headline}", exc.hint) from exc
    enricher = FeatureEnricher(online, model.schema, model.name)
    try:
        online.probe()  # connects and loads what Feast loads lazily
    except FeatureStoreUnavailableError as exc:
        log.warning("%s; its entity-key requests get 503 until it answers", exc.headline)
    return enricher


def _datatype(dtype: str) -> str:
    return "BYTES" if dtype == "object" else v2_datatype(np.dtype(dtype))
