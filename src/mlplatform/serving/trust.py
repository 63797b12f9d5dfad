"""What the model loader may deserialize, decided by the platform and the user, never the model.

A model artifact comes from the registry's artifact store; anyone who can write there could
plant a model that runs code when it is loaded. So:

- skops models load with the platform's trusted types
  (``mlplatform.artifacts.skops_format.PLATFORM_TRUSTED_TYPES``) plus ``trusted_types`` from
  the settings; the ``skops_trusted_types`` list that MLflow writes into ``MLmodel`` is ignored;
- pickle and cloudpickle models, and every model without the scikit-learn flavour (MLflow's
  pyfunc loads those by running their pickled or custom code), are refused unless
  ``allow_pickle`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALLOW_PICKLE_SETTING", "ModelTrust"]

ALLOW_PICKLE_SETTING = (
    "allow_pickle_models = true under [serving] in mlplatform.toml (or "
    "MLPLATFORM_SERVING__ALLOW_PICKLE_MODELS=true; the container: --allow-pickle-models)"
)


@dataclass(frozen=True)
class ModelTrust:
    """The loader's trust: ``trusted_types`` beyond the platform's list (exact names), and
    whether pickle-based models may be loaded at all."""

    trusted_types: tuple[str, ...] = ()
    allow_pickle: bool = False
