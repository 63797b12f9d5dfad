"""The design's flat prices: one rate per resource unit, the same on every cloud.

They are the cost dashboard's default variables and the fallback of the price tables
(``mlplatform.cost.prices``) where a cloud's own per-unit rate is not stated. GB is 1e9 bytes.
"""

from __future__ import annotations

__all__ = ["CPU_CORE_HOUR", "GPU_HOUR", "HOURS_PER_MONTH", "MEMORY_GB_HOUR"]

CPU_CORE_HOUR = 0.048
"""US dollars per CPU core (vCPU) per hour."""

MEMORY_GB_HOUR = 0.006
"""US dollars per GB (1e9 bytes) of memory per hour."""

GPU_HOUR = 0.526
"""US dollars per GPU per hour."""

HOURS_PER_MONTH = 730.0
"""Hours in an average month (365 * 24 / 12), for monthly estimates."""
