"""Point-in-time correctness of training tables (``historical_table`` over Feast's local
stores): a value recorded after an event never reaches the event's row, where a join on the
latest values leaks it; TTLs expire old values; two feature views join independently.

The data is built so every expected value can be read off the table below::

    balance view (ttl 365 days): customer, time, spend, plan
        1  Jan 01  10.0  basic
        1  Jan 10  99.0  closed      <- written after customer 1's Jan 05 event: the leak
        2  Jan 01  20.0  pro
    risk view (ttl 2 days): customer, time, score
        1  Jan 04  1
        1  Jan 06  5
        2  Jan 01  3                 <- more than 2 days before customer 2's event: expired
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pandas as pd
import pytest

from mlplatform.features import apply, historical_table, local_layout, open_store, write_table

DEFINITIONS = textwrap.dedent(
    """
    from datetime import timedelta

    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64, String

    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)

    balance = FeatureView(
        name="balance",
        entities=[customer],
        ttl=timedelta(days=365),
        schema=[Field(name="spend", dtype=Float64), Field(name="plan", dtype=String)],
        source=FileSource(name="balance", path="balance.parquet", timestamp_field="ts"),
    )

    risk = FeatureView(
        name="risk",
        entities=[customer],
        ttl=timedelta(days=2),
        schema=[Field(name="score", dtype=Int64)],
        source=FileSource(name="risk", path="risk.parquet", timestamp_field="ts"),
    )

    both = FeatureService(name="both", features=[balance, risk])
    """
)


def day(n: int) -> datetime:
    return datetime(2026, 1, n, tzinfo=UTC)


BALANCE = pd.DataFrame(
    {
        "customer_id": [1, 1, 2],
        "ts": [day(1), day(10), day(1)],
        "spend": [10.0, 99.0, 20.0],
        "plan": ["basic", "closed", "pro"],
    }
)
RISK = pd.DataFrame({"customer_id": [1, 1, 2], "ts": [day(4), day(6), day(1)], "score": [1, 5, 3]})
EVENTS = pd.DataFrame(
    {
        "customer_id": [1, 2, 1],
        "event_timestamp": [day(5), day(5), day(11)],
        "churned": [1, 0, 1],
    }
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("pit")
    (root / "repo").mkdir()
    (root / "repo" / "definitions.py").write_text(DEFINITIONS)
    layout = local_layout(
        project="pit", repo=root / "repo", artifact_root=str(root / "artifacts"), home=root / "h"
    )
    write_table(layout, BALANCE, "balance.parquet", timestamp_field="ts")
    write_table(layout, RISK, "risk.parquet", timestamp_field="ts")
    apply(layout)
    return open_store(layout)


@pytest.fixture(scope="module")
def table(store):
    return historical_table(store, EVENTS, "both")


def naive_latest_join(events: pd.DataFrame) -> pd.DataFrame:
    """What a hand-written join does: each entity's latest row, whatever the event's time."""
    latest = BALANCE.sort_values("ts").groupby("customer_id").tail(1).drop(columns="ts")
    return events.merge(latest, on="customer_id", how="left")


def test_a_value_written_after_the_event_never_reaches_its_row(table):
    # GIVEN customer 1's Jan 05 event, and a balance row written on Jan 10 (the account
    # closed: a value that carries the label)
    # WHEN the training table is built point-in-time
    row = table.iloc[0]

    # THEN the event's row holds the Jan 01 values, not the later ones
    assert (row["customer_id"], row["spend"], row["plan"]) == (1, 10.0, "basic")
    before = table[table["event_timestamp"] < day(10)]
    assert 99.0 not in before["spend"].tolist()
    assert "closed" not in before["plan"].tolist()


def test_a_naive_latest_value_join_leaks_the_later_value_on_the_same_data(table):
    # GIVEN the same events and the same table, joined on the entity key with the latest row
    naive = naive_latest_join(EVENTS)

    # THEN the naive join puts the Jan 10 value in the Jan 05 row; the point-in-time one not
    assert naive.loc[0, ["spend", "plan"]].tolist() == [99.0, "closed"]
    assert table.loc[0, ["spend", "plan"]].tolist() == [10.0, "basic"]
    leaked = naive["spend"].to_numpy() != table["spend"].to_numpy()
    assert leaked.tolist() == [True, False, False]


def test_an_event_after_the_update_sees_it(table):
    # customer 1's Jan 11 event comes after the Jan 10 row: that row is the right value
    assert table.loc[2, ["spend", "plan"]].tolist() == [99.0, "closed"]


def test_the_ttl_expires_values_older_than_the_view_allows(table):
    # risk keeps values two days: Jan 04 is within two days of Jan 05, Jan 01 is not, and
    # Jan 06 is five days before Jan 11
    assert table.loc[0, "score"] == 1
    assert pd.isna(table.loc[1, "score"])
    assert pd.isna(table.loc[2, "score"])


def test_two_views_join_independently_in_the_entity_frames_order(table):
    # GIVEN one service over two views with different TTLs
    # THEN each row has both views' features, the entity frame's rows and columns first
    assert list(table.columns[:3]) == ["customer_id", "event_timestamp", "churned"]
    assert {"spend", "plan", "score"} <= set(table.columns)
    assert table["customer_id"].tolist() == [1, 2, 1]
    assert table["churned"].tolist() == [1, 0, 1]
    assert table.loc[1, ["spend", "plan"]].tolist() == [20.0, "pro"]


def test_every_value_is_the_latest_at_or_before_its_event_within_the_ttl(table):
    # the rule itself, checked row by row against the source tables
    for view, ttl_days, columns in ((BALANCE, 365, ["spend", "plan"]), (RISK, 2, ["score"])):
        for i, event in EVENTS.iterrows():
            rows = view[
                (view["customer_id"] == event["customer_id"])
                & (view["ts"] <= event["event_timestamp"])
                & (view["ts"] >= event["event_timestamp"] - pd.Timedelta(days=ttl_days))
            ]
            for column in columns:
                got = table.loc[i, column]
                if rows.empty:
                    assert pd.isna(got), (view, i, column)
                else:
                    assert got == rows.sort_values("ts").iloc[-1][column], (i, column)
