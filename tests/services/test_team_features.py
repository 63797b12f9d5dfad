"""The feature store on the team profile: the offline table on the S3 store (SeaweedFS), the
online store and the registry in the team PostgreSQL, the churn example trained from the
store through the real CLI, and the model served from entity keys with features read from
PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from _http_servers import background, post_when_up
from mlplatform.services.postgres import FEATURES_DATABASE
from mlplatform.services.seaweedfs import s3_client

from .conftest import cli_env, config, free_port, project_home, running

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "pipelines" / "churn"
MLP = [sys.executable, "-m", "mlplatform"]


@pytest.fixture(scope="module")
def team() -> Any:
    with project_home() as home, running(config(home), ("postgres", "seaweedfs", "mlflow")) as s:
        yield s


def project_dir(team: Any) -> Path:
    return Path(team.cfg.home.parent.parent)


def env(team: Any) -> dict[str, str]:
    return cli_env(team.cfg, MLPLATFORM_FEATURES__REPO=str(EXAMPLE / "features"))


def mlp(team: Any, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "mlplatform", *args],
        cwd=team.cfg.home.parent.parent,
        env=env(team),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"mlp {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    if "--format" in args and not result.stdout.lstrip().startswith(("{", "[")):
        raise AssertionError(f"mlp {' '.join(args)}: stdout is not JSON:\n{result.stdout[:2000]}")
    return result


def query(team: Any, sql: str) -> list[tuple[Any, ...]]:
    creds = team.creds
    conn = psycopg2.connect(
        host=team.cfg.host,
        port=team.cfg.port("postgres"),
        user=creds.postgres_user,
        password=creds.postgres_password,
        dbname=FEATURES_DATABASE,
    )
    with closing(conn), conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def test_the_example_trains_from_s3_and_serves_from_postgres(team):
    # GIVEN the team profile: the offline table lands in the S3 bucket
    mlp(team, "features", "ingest", "synthetic://churn-activity", "--path",
        "customer_activity.parquet", "--rows", "200")  # fmt: skip
    client = s3_client(team.cfg, team.creds)
    key = "artifacts/features/customer_activity.parquet"
    head = client.head_object(Bucket="mlplatform", Key=key)
    assert head["ContentLength"] > 0
    # WHEN the definitions are applied: the registry is SQL in the team PostgreSQL
    mlp(team, "features", "apply")
    projects = query(team, "SELECT project_id FROM projects")
    assert ("mlplatform",) in projects
    # AND the example pipeline trains from the store (in-process: the e2e test runs the steps
    # as subprocesses)
    run = json.loads(mlp(team, "pipeline", "run", "churn-features-training", "--file",
                         str(EXAMPLE / "features_pipeline.py"), "-p", "rows=200", "--in-process",
                         "--format", "json").stdout)  # fmt: skip
    assert run["status"] == "succeeded"
    # THEN the online store is the PostgreSQL table the materialize step filled
    [(rows,)] = query(team, "SELECT count(DISTINCT entity_key) FROM mlplatform_customer_activity")
    assert rows == 200
    # AND the registered model serves from entity keys alone, features from PostgreSQL
    port = free_port()
    serve = [*MLP, "serve", "churn-features-model", "--port", str(port)]
    with background(serve, project_dir(team), env(team)):
        url = f"http://127.0.0.1:{port}/v1/models/churn-features-model:predict"
        answer = post_when_up(url, {"instances": [{"customer_id": 1000}, {"customer_id": 1199}]})
    assert len(answer["predictions"]) == 2
