"""Kubernetes quantities: the same values as the kubernetes client's parse_quantity."""

from __future__ import annotations

import pytest
from kubernetes.utils import parse_quantity as reference

from mlplatform.cost import parse_quantity
from mlplatform.errors import ConfigError

QUANTITIES = [
    *("1", "0.5", "2", "500m", "1930m", "100n", "3u", "12"),
    *("1k", "2M", "1.5G", "3T", "1P", "2E", "2e3", "1.5e-3"),
    *("1Ki", "512Mi", "4Gi", "6.9Gi", "424.5Gi", "1Ti", "1Pi", "2Ei"),
]


@pytest.mark.parametrize("text", QUANTITIES)
def test_same_value_as_the_kubernetes_client(text):
    assert parse_quantity(text) == reference(text)


@pytest.mark.parametrize("text", ["", "Gi", "4 GB", "four", "1Gib", "1.2.3"])
def test_not_a_quantity_is_a_config_error_with_examples(text):
    with pytest.raises(ConfigError, match="is not a Kubernetes quantity") as raised:
        parse_quantity(text)
    assert "4Gi" in str(raised.value.hint)
