"""Schemathesis fuzzes the running server against its own ``/openapi.json``: bodies that fit
the document (positive) and bodies that do not (negative), on every documented operation.
The document describes the served model's rows (V1 ``instances`` of exactly its columns and
types), so positive bodies reach the model itself, not only the request checks.

Checks: no 5xx; statuses, content types, headers and bodies as documented; schema-invalid
bodies rejected with a 4xx. Not checked: that every schema-valid body is accepted, which no
JSON schema can promise for V2 (a tensor's ``data`` must hold prod(``shape``) values).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import MODEL, config

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# 2 models x 2 modes x this many requests: about 10 s each on 2 cores
EXAMPLES = 250


@pytest.fixture(params=["iris", "churn"])
def served_schema(request, start_server, iris_dir, registry):
    if request.param == "iris":
        server = start_server(config("iris", str(iris_dir[0])))
    else:
        server = start_server(config(MODEL, f"models:/{MODEL}@champion", registry))
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # huge floats
@pytest.mark.parametrize("mode", list(GenerationMode))
def test_no_request_gets_a_server_error(served_schema, mode):
    # GIVEN a running server and requests generated from its own OpenAPI document
    @given(case=served_schema.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def send(case):
        # WHEN one is sent
        # THEN the answer is no 5xx, and is what the document says (status, type, body)
        case.call_and_validate(checks=CHECKS)

    send()
