"""What the model server keeps of request payloads, and for how long: one default for all.

Sampled payloads are the raw inputs people sent, so they are personal data that may need
consent (docs/serving.md, "Payload sampling"). Sampling is therefore off unless asked for
(``SAMPLE_FRACTION``), and what is kept is deleted after ``SAMPLE_RETENTION_DAYS`` days by the
sampler itself. ``mlp serve`` (through ``[serving]`` settings) and the container entrypoint
(``python -m mlplatform.serving``) read these two constants, so the two cannot disagree.

This module imports nothing: settings and serving both read it without loading the other.
"""

from __future__ import annotations

__all__ = [
    "MAX_SAMPLE_RETENTION_DAYS",
    "SAMPLE_FRACTION",
    "SAMPLE_RETENTION_DAYS",
    "sampling_problem",
]

SAMPLE_FRACTION = 0.0  # share of requests sampled: none unless asked for
SAMPLE_RETENTION_DAYS = 30  # days a day's samples are kept once sampling is on
MAX_SAMPLE_RETENTION_DAYS = 3650


def sampling_problem(fraction: float, retention_days: int) -> tuple[str, str] | None:
    """What is wrong with a sampling fraction and retention, as (headline, hint), or None.

    One wording for every entry point (``mlp serve``, the container, ``mlp deploy model``),
    each raising it as its own error.
    """
    if not 0 <= fraction <= 1:
        return (
            f"the sample fraction {fraction:g} is not a share of the requests",
            "Pass --sample-fraction from 0 (off) to 1 (every request), e.g. 0.01.",
        )
    if not 1 <= retention_days <= MAX_SAMPLE_RETENTION_DAYS:
        return (
            f"a sample retention of {retention_days} days is not 1 to {MAX_SAMPLE_RETENTION_DAYS}",
            "Pass --sample-retention-days with a whole number of days, e.g. 30.",
        )
    return None
