"""The same runtime as a KServe ``Model``, for KServe's own ``ModelServer``.

``KServeModel`` loads through the same loader, checks inputs against the same signature and
predicts through the same micro-batcher as ``ServingApp``; only the HTTP layer is KServe's
(FastAPI). ``python -m mlplatform.serving --server kserve`` runs it: the way to serve behind a
KServe feature our own front end lacks (gRPC, CloudEvents, the model repository API).
"""

from __future__ import annotations

import uuid
from typing import Any

import kserve
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from mlplatform.errors import InferenceInputError
from mlplatform.serving.config import ServerConfig
from mlplatform.serving.service import ModelService
from mlplatform.serving.tensors import v2_datatype

__all__ = ["KServeModel"]

OUTPUT_NAME = "output-0"


class KServeModel(kserve.Model):  # type: ignore[misc]
    """A KServe model backed by a ``ModelService`` (variants, batching, hot reload)."""

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(config.name)
        self.service = ModelService(config)
        self._started = False

    def load(self) -> bool:
        self.service.load()
        self.ready = True
        return True

    async def predict(
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        if not self._started:
            await self.service.start()
            self._started = True
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
