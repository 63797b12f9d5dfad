"""The churn example's feature definitions (Feast), applied with `mlp features apply`.

One entity (the customer), one offline table of weekly activity snapshots, one feature view
over it, and the feature service the churn model trains on and is served with. The source's
path is relative: it names a file in the profile's offline store (the artifact store on one
machine, the S3 store on `mlp up`, the cloud bucket in the cluster).

Land the example's table first (`mlp features ingest synthetic://churn-activity --path
customer_activity.parquet`); the data is fixed in time, so the view keeps values ten years.
"""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, String

customer = Entity(
    name="customer",
    join_keys=["customer_id"],
    value_type=ValueType.INT64,
    description="A customer account",
)

customer_activity_source = FileSource(
    name="customer_activity",
    path="customer_activity.parquet",
    timestamp_field="event_timestamp",
    description="Weekly activity snapshots per customer",
)

customer_activity = FeatureView(
    name="customer_activity",
    entities=[customer],
    ttl=timedelta(days=3650),
    schema=[
        Field(name="plan", dtype=String),
        Field(name="tenure_days", dtype=Int64),
        Field(name="spend_30d", dtype=Float64),
        Field(name="visits_30d", dtype=Int64),
        Field(name="support_tickets_30d", dtype=Int64),
    ],
    source=customer_activity_source,
    online=True,
    tags={"owner": "churn-team"},
)

churn = FeatureService(
    name="churn",
    features=[customer_activity],
    description="The features the churn model trains on and is served with",
)
