"""Synthetic churn data for the feature store example: customer activity over time, and labels.

``synthetic://churn-activity`` is a weekly activity snapshot per customer (the feature
store's offline table); ``synthetic://churn-labels`` is one labelled event per customer (the
entity frame a training table is built from). Both come from the same seed, so they describe
the same customers.

The data has the leak a point-in-time join exists for: once a customer churns, the
following snapshots show the account closed (no visits, no spend). Joining each label with the
customer's latest snapshot would hand the model the answer; a point-in-time join sees only
the snapshots recorded before the label's event time.

Times are fixed (the last snapshot is ``ANCHOR``), so a source URL names one table forever
(its cache identity is its value); the example's feature views keep values for ten years.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

__all__ = ["ANCHOR", "WEEKS", "churn_activity", "churn_labels"]

ANCHOR = datetime(2026, 11, 29, tzinfo=UTC)  # the last weekly snapshot
WEEKS = 12
_FIRST_ID = 1000
_PLANS = np.array(["basic", "plus", "premium"])


def _customers(customers: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    risk = rng.beta(2.0, 3.0, size=customers)  # latent churn risk
    churned = risk + rng.normal(0.0, 0.1, size=customers) > 0.5
    label_week = rng.integers(6, WEEKS - 1, size=customers)  # the event's week (0-based)
    return {
        "id": np.arange(_FIRST_ID, _FIRST_ID + customers, dtype=np.int64),
        "risk": risk,
        "churned": churned,
        "label_week": label_week,
        "plan": rng.choice(_PLANS, size=customers, p=[0.5, 0.3, 0.2]),
        "tenure0": rng.integers(30, 900, size=customers),
        "noise": rng.normal(size=(customers, WEEKS, 3)),
    }


def _week_time(week: int) -> datetime:
    return ANCHOR - timedelta(weeks=WEEKS - 1 - week)


def churn_activity(customers: int, seed: int) -> pd.DataFrame:
    """Weekly snapshots: ``customer_id``, ``event_timestamp``, ``plan``, ``tenure_days``,
    ``spend_30d``, ``visits_30d``, ``support_tickets_30d``."""
    c = _customers(customers, seed)
    rows = []
    for week in range(WEEKS):
        closed = c["churned"] & (week > c["label_week"])  # after churning: account closed
        trend = 1.0 - 1.5 * c["risk"] * week / WEEKS  # risky customers fade
        noise = c["noise"][:, week, :]
        spend = np.maximum(0.0, 80.0 * trend + 12.0 * noise[:, 0])
        visits = np.maximum(0, np.round(12.0 * trend + 3.0 * noise[:, 1])).astype(np.int64)
        tickets = np.maximum(0, np.round(5.0 * c["risk"] + 0.7 * noise[:, 2])).astype(np.int64)
        rows.append(
            pd.DataFrame(
                {
                    "customer_id": c["id"],
                    "event_timestamp": _week_time(week),
                    "plan": c["plan"],
                    "tenure_days": (c["tenure0"] + 7 * week).astype(np.int64),
                    "spend_30d": np.where(closed, 0.0, spend.round(2)),
                    "visits_30d": np.where(closed, 0, visits),
                    "support_tickets_30d": np.where(closed, 0, tickets),
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    return frame


def churn_labels(customers: int, seed: int) -> pd.DataFrame:
    """One labelled event per customer: ``customer_id``, ``event_timestamp`` (an hour after
    that week's snapshot), ``churned`` (0 or 1)."""
    c = _customers(customers, seed)
    times = [_week_time(int(w)) + timedelta(hours=1) for w in c["label_week"]]
    return pd.DataFrame(
        {
            "customer_id": c["id"],
            "event_timestamp": pd.to_datetime(times, utc=True),
            "churned": c["churned"].astype(np.int64),
        }
    )
