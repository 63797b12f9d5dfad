"""The same runtime as a KServe ``Model``, for KServe's own ``ModelServer``.

``KServeModel`` loads through the same loader, checks inputs against the same signature and
predicts through the same micro-batcher as ``ServingApp``; only the HTTP layer is KServe's
(FastAPI). ``python -m mlplatform.serving --server kserve`` runs it: the way to serve behind a
KServe feature our own front end lacks (gRPC, CloudEvents, the model repository API).

Payload sampling works as in the default server (``sampler_for``): sampled rows go to the
samples store and the drift monitors, expired days are deleted. The service (batchers, hot
reload, the sampler's flush and retention loop) starts with the ModelServer, as its "engine",
and ``stop`` writes what is still buffered when the ModelServer unloads the model.
KServe's ModelServer refuses versioned routes itself (``/versions/N``: not implemented).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import kserve
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from mlplatform.errors import InferenceInputError
from mlplatform.serving.config import ServerConfig
from mlplatform.serving.outputs import OUTPUT_NAME
from mlplatform.serving.sampler import MonitorFactory, sampler_for
from mlplatform.serving.service import ModelService
from mlplatform.serving.tensors import v2_datatype

__all__ = ["KServeModel"]

log = logging.getLogger(__name__)


class KServeModel(kserve.Model):  # type: ignore[misc]
    """A KServe model backed by a ``ModelService`` (variants, batching, hot reload)."""

    def __init__(self, config: ServerConfig, monitors: MonitorFactory | None = None) -> None:
        super().__init__(config.name)
        self.service = ModelService(config, sampler_for(config, monitors))
        self.engine = True  # the ModelServer awaits start_engine on its event loop
        self._started = False

    def load(self) -> bool:
        self.service.load()
        self.ready = True
        return True

    async def start_engine(self) -> None:
        """Start batchers, hot reload and the sampler's flush and retention loop."""
        await self._start()
        self.ready = True

    async def _start(self) -> None:
        if not self._started:
            self._started = True
            await self.service.start()

    def stop(self) -> None:
        """Write the samples still buffered (the ModelServer unloads on SIGTERM/SIGINT)."""
        self.ready = False
        sampler = self.service.sampler
        if sampler.buffered_rows:
            try:
                sampler.persist(sampler.drain())
            except Exception:  # sampling must never fail a shutdown
                log.exception("payload samples of %s could not be written", self.name)

    def stop_engine(self) -> None:
        self.ready = False

    async def predict(
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        await self._start()  # started by start_engine under a ModelServer
        model = self.service.schema_model()
        assert model is not None  # load() ran before the server accepted requests
        sticky = (headers or {}).get(self.service.config.sticky_header)
        try:
            if isinstance(payload, InferRequest):
                tensors = [
                    {"name": i.name, "shape": list(i.shape), "datatype": i.datatype,
                     "data": [_text(v) for v in i.as_numpy().reshape(-1).tolist()]}
                    for i in payload.inputs
                ]  # fmt: skip
                block = model.schema.from_v2(tensors)
            else:
                block = model.schema.from_v1(payload)
        except InferenceInputError as exc:
            raise InvalidInput(f"{exc.headline}. {exc.hint}") from exc
        result, _ = await self.service.predict(block, sticky)
        outputs = result.outputs
        if isinstance(payload, InferRequest):
            output = InferOutput(
                name=OUTPUT_NAME,
                shape=list(outputs.shape),
                datatype=v2_datatype(outputs.dtype),
                data=outputs.reshape(-1).tolist(),
            )
            return InferResponse(
                model_name=self.name,
                infer_outputs=[output],
                response_id=payload.id or str(uuid.uuid4()),  # KServe's response needs one
            )
        return {"predictions": outputs.tolist()}


def _text(value: Any) -> Any:
    """BYTES tensors arrive as bytes from KServe's binary decoding; the model wants str."""
    return value.decode("utf-8") if isinstance(value, bytes) else value
