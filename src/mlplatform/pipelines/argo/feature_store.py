"""The cluster's feature store in step pods: the platform's configuration, mounted read-only.

The platform-config chart renders, in the workflow namespace, a ConfigMap holding the cluster's
``feature_store.yaml`` (``infrastructure/helm/files/feast-feature-server/feature_store.yaml``,
the one the Feast feature server loads) and a Secret (an ExternalSecret) whose keys are the
variables that file references (``FEAST_DB_HOST`` ... ``FEAST_DB_PASSWORD``). A step pod mounts
the ConfigMap at ``CONFIG_FILE``, takes the Secret's keys as its environment (``envFrom``) and
names the file in the variable the feature store steps read (``mlplatform.features.CONFIG_ENV``,
passed in as ``CompileOptions.feature_store_env``): ``store_from_environ`` then opens Feast on the
managed PostgreSQL (online store, SQL registry) and the bucket (offline Parquet, through the
pod's workload identity).

Neither the file's path nor its content is part of a step's cache key: what the store holds is
(``historical_features`` fingerprints the registered definitions and the offline data in the pod).
"""

from __future__ import annotations

import hera.workflows.models as m

__all__ = ["CONFIG_FILE", "CONFIG_MAP", "LABEL", "SECRET", "env_from", "mount", "volume"]

CONFIG_MAP = "mlplatform-feature-store"  # platform-config: templates/feature-store-clients.yaml
SECRET = "mlplatform-feature-store"  # same chart: keys are the file's ${VARIABLES}
VOLUME = "feature-store"
MOUNT_DIR = "/etc/mlplatform/feature-store"
CONFIG_KEY = "feature_store.yaml"
CONFIG_FILE = f"{MOUNT_DIR}/{CONFIG_KEY}"
# the pod label the NetworkPolicy allow-feature-store-egress (argo) lets reach PostgreSQL
LABEL = ("mlplatform.io/feature-store", "true")


def volume() -> m.Volume:
    """The ConfigMap as a volume holding only ``feature_store.yaml``, read-only to all."""
    return m.Volume(
        name=VOLUME,
        config_map=m.ConfigMapVolumeSource(
            name=CONFIG_MAP,
            items=[m.KeyToPath(key=CONFIG_KEY, path=CONFIG_KEY)],
            default_mode=0o444,
        ),
    )


def mount() -> m.VolumeMount:
    return m.VolumeMount(name=VOLUME, mount_path=MOUNT_DIR, read_only=True)


def env_from() -> m.EnvFromSource:
    """The database's host, port, name, user and password as the file's variables."""
    return m.EnvFromSource(secret_ref=m.SecretEnvSource(name=SECRET, optional=False))
