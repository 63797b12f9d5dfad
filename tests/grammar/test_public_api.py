"""The grammar package's public API is declared and pinned."""

from __future__ import annotations

import mlplatform.grammar as grammar


def test_public_api_is_pinned():
    assert sorted(grammar.__all__) == sorted(
        [
            "DEFAULT_ALIAS",
            "NAME_RULE",
            "Canary",
            "Environment",
            "Gate",
            "ModelRef",
            "check_name",
            "deploy_stage",
            "parse_canaries",
            "parse_canary",
            "parse_gate",
            "parse_model_name",
            "parse_model_ref",
        ]
    )
    assert all(hasattr(grammar, name) for name in grammar.__all__)
