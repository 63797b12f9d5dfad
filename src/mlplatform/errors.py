"""The one error tree of mlplatform.

Every error carries a one-line ``headline`` (what went wrong) and a ``hint`` (what to do
next). The CLI prints both without a traceback; anything that is not an ``MlplatformError``
is a bug and is printed with its traceback.

Hierarchy::

    MlplatformError
    ├── ConfigError                 settings, profiles, project file
    │   ├── DataSourceError         a step's declared external data is missing or unreadable
    │   └── CapacityError           an LLM does not fit the GPU memory asked for
    ├── ModelReferenceError         a model reference is not NAME, NAME@ALIAS, NAME/VERSION...
    ├── CanaryError                 a --canary is not ALIAS=PERCENT (a whole percent, 1 to 99)
    ├── PipelineDefinitionError     DSL and graph IR: cycles, missing inputs, type mismatches
    ├── PipelineNotFoundError       unknown pipeline name or file
    ├── StepFailedError             a step raised, timed out or was killed
    ├── ArgoError                   the Argo server refused a request
    ├── ServiceError                `mlp up` services: a binary is missing, a port is taken, a
    │                               service did not become healthy
    ├── ArtifactError               object store problems
    │   ├── ArtifactNotFoundError
    │   ├── DigestMismatchError     bytes on the store differ from the recorded digest
    │   └── MaterializerError       no materializer for a type, or the value has the wrong type
    ├── DataValidationError         bad data stopped at the validate step (carries the report)
    ├── QualityGateError            a model failed the evaluation gate
    ├── RegistryError               MLflow registry: unknown model, version or alias
    │   └── PromotionRejectedError  a promotion was refused; the registry is unchanged
    ├── ServingError                the model server cannot load or serve a model
    │   ├── InferenceInputError     a request does not match the model's signature (HTTP 4xx)
    │   ├── OverloadedError         the queue is full (429), or a request waited too long or
    │                               no model is loaded yet (503)
    │   └── LlmEngineError          the local vLLM engine is missing, cannot start or stopped
    ├── DeployError                 an InferenceService cannot be rendered as asked
    ├── FeatureStoreError           the feature store (Feast): definitions, offline data, store
    │   ├── EntityNotFoundError     online features asked for an entity the store has not (4xx)
    │   └── FeatureStoreUnavailableError  the online store cannot be reached (503, Retry-After)
    └── DriftError                  drift checks: the data cannot be compared as given
        ├── DriftSchemaError        columns or dtypes of the current data do not match the reference
        ├── DriftDataError          no usable rows: an empty window, an unreadable data file
        └── ProfileError            a reference profile file is missing, corrupt or too new
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArgoError",
    "ArtifactError",
    "ArtifactNotFoundError",
    "CanaryError",
    "CapacityError",
    "ConfigError",
    "DataSourceError",
    "DataValidationError",
    "DeployError",
    "DigestMismatchError",
    "DriftDataError",
    "DriftError",
    "DriftSchemaError",
    "EntityNotFoundError",
    "FeatureStoreError",
    "FeatureStoreUnavailableError",
    "InferenceInputError",
    "LlmEngineError",
    "MaterializerError",
    "MlplatformError",
    "ModelReferenceError",
    "OverloadedError",
    "PipelineDefinitionError",
    "PipelineNotFoundError",
    "ProfileError",
    "PromotionRejectedError",
    "QualityGateError",
    "RegistryError",
    "ServiceError",
    "ServingError",
    "StepFailedError",
]


class MlplatformError(Exception):
    """Base of every error mlplatform raises on purpose."""

    default_hint = "Run the command again with --verbose for details."

    def __init__(self, headline: str, hint: str | None = None, *, details: str = "") -> None:
        super().__init__(headline)
        self.headline = headline
        self.hint = hint or self.default_hint
        self.details = details

    def __str__(self) -> str:
        text = f"{self.headline}\n  hint: {self.hint}"
        return f"{text}\n{self.details}" if self.details else text


class ConfigError(MlplatformError):
    default_hint = "Check mlplatform.toml, MLPLATFORM_* variables and the flags you passed."


class DataSourceError(ConfigError):
    """External data a step declares (``@step(data=...)``) is missing or cannot be read."""

    default_hint = "Check the path or URL of the data source, and the credentials to read it."


class CapacityError(ConfigError):
    """An LLM's weights and KV cache do not fit the GPU memory asked for
    (``mlplatform.llm.capacity``); nothing was rendered or started."""

    default_hint = (
        "Lower --max-model-len or the number of concurrent sequences, or pick a GPU class "
        "with more memory."
    )


class ModelReferenceError(MlplatformError):
    """A model reference cannot be read (``mlplatform.grammar.parse_model_ref``)."""

    default_hint = (
        "Name a model version as NAME (its champion), NAME@ALIAS, NAME@VERSION, NAME/VERSION, "
        "models:/NAME@ALIAS or models:/NAME/VERSION: churn@champion, churn/3."
    )


class CanaryError(MlplatformError):
    """A ``--canary`` cannot be read, or the canaries take all the traffic
    (``mlplatform.grammar.parse_canaries``)."""

    default_hint = (
        "Give the canary's alias (or version) and its whole percentage of the traffic, "
        "1 to 99, all canaries together under 100: --canary challenger=10."
    )


class PipelineDefinitionError(MlplatformError):
    default_hint = "Fix the pipeline definition; nothing has run."


class PipelineNotFoundError(MlplatformError):
    default_hint = "Run `mlp pipeline list` to see the pipelines this project defines."


class StepFailedError(MlplatformError):
    """A step failed after its retries. ``step`` names it, ``resume`` is the command to resume."""

    def __init__(
        self, headline: str, hint: str | None = None, *, step: str, details: str = ""
    ) -> None:
        super().__init__(headline, hint, details=details)
        self.step = step
        self.result: Any = None  # the PipelineRunResult, set by the executor
        self.traceback = ""  # the step's own traceback, shown with --verbose


class ArgoError(MlplatformError):
    default_hint = "Check the Argo server URL, namespace and token in the settings."


class ServiceError(MlplatformError):
    """A local service (`mlp up`) is missing, cannot start, or is not healthy."""

    default_hint = "Run `mlp status` to see each service, and `mlp logs SERVICE` for its log."


class ArtifactError(MlplatformError):
    default_hint = "Check the artifact store URL and that you can read and write it."


class ArtifactNotFoundError(ArtifactError):
    pass


class DigestMismatchError(ArtifactError):
    default_hint = "The stored bytes were changed or corrupted; re-run to recompute them."


class MaterializerError(ArtifactError):
    default_hint = (
        "Annotate the step's return type with a supported type "
        "(DataFrame, ndarray, JSON, estimator)."
    )


class DataValidationError(MlplatformError):
    """Data failed validation. ``report`` is the readable table of every violation."""

    default_hint = "Fix the data (or the schema if the data is right); nothing was registered."

    def __init__(self, headline: str, hint: str | None = None, *, report: str = "") -> None:
        super().__init__(headline, hint, details=report)
        self.report = report


class QualityGateError(MlplatformError):
    default_hint = "Improve the model or relax the gate thresholds (-p min_accuracy=...)."


class RegistryError(MlplatformError):
    default_hint = "Run `mlp models list` to see the registered models, versions and aliases."


class PromotionRejectedError(RegistryError):
    default_hint = "Nothing was changed in the registry."


class ServingError(MlplatformError):
    """The model server cannot load or serve a model."""

    default_hint = "Check the model URI with `mlp models show NAME` and the server log."


class InferenceInputError(ServingError):
    """A request body does not match the protocol or the model signature; answered with
    ``status`` (400 bad request, 404 unknown model, 413 too large, 422 wrong input)."""

    default_hint = "GET /v2/models/NAME for the inputs the model expects."

    def __init__(self, headline: str, hint: str | None = None, *, status: int = 400) -> None:
        super().__init__(headline, hint)
        self.status = status


class OverloadedError(ServingError):
    """The server sheds a request: ``status`` 429 (queue full) or 503 (not ready, timed out);
    ``retry_after`` seconds go into the ``Retry-After`` header."""

    default_hint = "Retry after the Retry-After seconds, or scale the server out."

    def __init__(
        self, headline: str, hint: str | None = None, *, status: int = 429, retry_after: int = 1
    ) -> None:
        super().__init__(headline, hint)
        self.status = status
        self.retry_after = retry_after


class LlmEngineError(ServingError):
    """The local LLM engine (vLLM in its own venv, ``mlplatform.llm.local``) is not installed,
    did not start, or stopped; ``log`` names the engine's log file when there is one."""

    default_hint = "Install the engine with `make install-llm`, then read the engine log."

    def __init__(self, headline: str, hint: str | None = None, *, log: str = "") -> None:
        super().__init__(headline, hint)
        self.log = log


class DeployError(MlplatformError):
    default_hint = "Run `mlp deploy model --help` for the accepted options."


class FeatureStoreError(MlplatformError):
    """The feature store (Feast): a definition, the offline data or a store is not usable."""

    default_hint = "Run `mlp features list` to see what the feature store holds."


class EntityNotFoundError(FeatureStoreError):
    """Online features were asked for entity keys the online store has no values for."""

    def __init__(self, keys: dict[str, object], hint: str | None = None) -> None:
        named = ", ".join(f"{k}={v!r}" for k, v in keys.items())
        super().__init__(
            f"no online features for entity {named}",
            hint
            or "Materialize the features of this entity (`mlp features materialize`) or send "
            "an entity the store has.",
        )
        self.keys = keys


class FeatureStoreUnavailableError(FeatureStoreError):
    """The online store did not answer (the server answers 503 with Retry-After)."""

    default_hint = "Check that the online store is up (`mlp status` on the team profile)."


class DriftError(MlplatformError):
    default_hint = "Run `mlp drift check --help` to see what the reference and current data need."


class DriftSchemaError(DriftError):
    default_hint = (
        "Compare the same columns with the same kinds of values: pass --columns to choose "
        "columns, or cast the current data to the reference's dtypes."
    )


class DriftDataError(DriftError):
    default_hint = "Check the current data: it needs at least one row of the profiled columns."


class ProfileError(DriftError):
    default_hint = "Build the profile again with `mlp drift profile DATA -o PROFILE`."
