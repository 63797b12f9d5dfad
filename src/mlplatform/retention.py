"""What the model server keeps of request payloads, and for how long: one default for all.

Sampled payloads are the raw inputs people sent, so they are personal data that may need
consent (docs/serving.md, "Payload sampling"). Sampling is therefore off unless asked for
(``SAMPLE_FRACTION``), and what is kept is deleted after ``SAMPLE_RETENTION_DAYS`` days by the
sampler itself. ``mlp serve`` (through ``[serving]`` settings) and the container entrypoint
(``python -m mlplatform.serving``) read these two constants, so the two cannot disagree.

This module imports nothing: settings and serving both read it without loading the other.
"""

from __future__ import annotations

__all__ = ["MAX_SAMPLE_RETENTION_DAYS", "SAMPLE_FRACTION", "SAMPLE_RETENTION_DAYS"]

SAMPLE_FRACTION = 0.0  # share of requests sampled: none unless asked for
SAMPLE_RETENTION_DAYS = 30  # days a day's samples are kept once sampling is on
MAX_SAMPLE_RETENTION_DAYS = 3650
