"""The services' configuration, rendered files and scrape targets: pure, no process started."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import yaml

import mlplatform.services
from mlplatform.cli.services import services_config
from mlplatform.services import (
    ServicesConfig,
    alertmanager,
    default_ports,
    load_or_create,
    object_store,
    prometheus,
    register_target,
    registered_targets,
    unregister_target,
)
from mlplatform.services.catalog import default_services, resolve
from mlplatform.services.config import env_name
from mlplatform.settings import load_settings


def test_public_api_is_pinned():
    assert sorted(mlplatform.services.__all__) == [
        "Credentials",
        "ObjectStore",
        "Port",
        "SERVICES",
        "ServiceStatus",
        "ServicesConfig",
        "Supervisor",
        "default_ports",
        "default_services",
        "load_or_create",
        "object_store",
        "register_target",
        "registered_targets",
        "unregister_target",
    ]


def test_default_ports_are_loopback_and_none_is_a_tools_own_default():
    tool_defaults = {5432, 8333, 9333, 8080, 8888, 5000, 9090, 9093, 9094, 10000, 4443}
    numbers = {p.number for p in default_ports().values()}
    seaweed = default_ports()["seaweedfs_base"].number
    assert not (numbers | set(range(seaweed, seaweed + 7))) & tool_defaults
    assert ServicesConfig(home=Path("/x")).host == "127.0.0.1"
    assert env_name("services.mlflow_port") == "MLPLATFORM_SERVICES__MLFLOW_PORT"


def test_settings_choose_the_ports_and_the_team_profile_points_at_them(tmp_path, monkeypatch):
    # GIVEN a project that moves MLflow and S3 in mlplatform.toml and Prometheus by env
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("MLPLATFORM_")]:
        monkeypatch.delenv(name)
    (tmp_path / "mlplatform.toml").write_text(
        'profile = "team"\n[services]\nmlflow_port = 15005\ns3_port = 18335\n'
    )
    monkeypatch.setenv("MLPLATFORM_SERVICES__PROMETHEUS_PORT", "19095")
    settings = load_settings()
    # WHEN the CLI builds the services' config THEN each port carries its setting's name
    cfg = services_config(settings)
    assert cfg.ports["mlflow"].number == 15005
    assert cfg.ports["prometheus"].number == 19095
    assert cfg.ports["prometheus"].setting == "services.prometheus_port"
    assert cfg.home == tmp_path / ".mlplatform" / "services"
    # AND the team profile points tracking and the artifact store at those services
    assert settings.resolved_tracking_uri() == "http://127.0.0.1:15005"
    assert settings.resolved_artifact_store() == "s3://mlplatform/artifacts"
    assert settings.resolved_storage_options() == {"endpoint_url": "http://127.0.0.1:18335"}
    # AND once `mlp up` made credentials, the store uses them
    creds = load_or_create(cfg.home)
    options = settings.resolved_storage_options()
    assert options == object_store(cfg, creds, "s3").storage_options


def test_credentials_are_random_private_and_stable(tmp_path):
    first = load_or_create(tmp_path)
    assert load_or_create(tmp_path) == first
    assert first != load_or_create(tmp_path / "other")
    mode = (tmp_path / "credentials.json").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_config_survives_its_json_round_trip(tmp_path):
    cfg = ServicesConfig(home=tmp_path, artifacts="gcs", rules={"a.yml": "groups: []"})
    assert ServicesConfig.from_json(cfg.to_json()) == cfg


def test_up_starts_the_team_stack_with_its_dependencies_in_order(tmp_path):
    cfg = ServicesConfig(home=tmp_path)
    assert default_services(cfg) == (
        "postgres",
        "seaweedfs",
        "mlflow",
        "audit-receiver",
        "alertmanager",
        "prometheus",
    )
    assert resolve(["mlflow"], cfg) == ["postgres", "seaweedfs", "mlflow"]
    azure = cfg.with_changes(artifacts="azure")
    assert resolve(["mlflow"], azure) == ["postgres", "azurite", "mlflow"]
    assert resolve(["prometheus"], cfg) == ["prometheus"]


def test_prometheus_config_scrapes_mlflow_and_model_servers_by_file_discovery(tmp_path):
    cfg = ServicesConfig(home=tmp_path, scrape_interval="1s")
    rendered = prometheus.render_config(cfg)
    jobs = {job["job_name"]: job for job in rendered["scrape_configs"]}
    assert jobs["mlflow"]["static_configs"] == [{"targets": ["127.0.0.1:15000"]}]
    assert jobs["model-servers"]["file_sd_configs"][0]["files"] == ["targets/*.json"]
    assert rendered["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:19093"
    ]
    assert rendered["global"]["scrape_interval"] == "1s"
    assert rendered["rule_files"] == ["rules/*.yml"]


def test_prepare_writes_the_platform_rules_and_keeps_a_user_edited_alertmanager_file(tmp_path):
    cfg = ServicesConfig(home=tmp_path)
    creds = load_or_create(tmp_path)
    prometheus.Prometheus().prepare(cfg, creds)
    rules = yaml.safe_load((tmp_path / "prometheus" / "rules" / "platform.rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"HighInferenceErrorRate", "MLflowDown", "DataDriftDetected"} <= alerts
    # GIVEN a user's own alertmanager.yml WHEN prepared again THEN it is kept
    am = alertmanager.Alertmanager()
    am.prepare(cfg, creds)
    path = tmp_path / "alertmanager" / "alertmanager.yml"
    assert yaml.safe_load(path.read_text())["route"]["receiver"] == "default"
    path.write_text("route: {receiver: slack}\nreceivers: [{name: slack}]\n")
    am.prepare(cfg, creds)
    assert "slack" in path.read_text()


def test_scrape_targets_are_one_file_each_and_removable(tmp_path):
    register_target(tmp_path, "churn-champion", "127.0.0.1:8081", {"alias": "champion"})
    register_target(tmp_path, "churn-challenger", "127.0.0.1:8082")
    assert registered_targets(tmp_path) == {
        "churn-challenger": "127.0.0.1:8082",
        "churn-champion": "127.0.0.1:8081",
    }
    body = json.loads((tmp_path / "churn-champion.json").read_text())
    assert body == [{"targets": ["127.0.0.1:8081"], "labels": {"alias": "champion"}}]
    unregister_target(tmp_path, "churn-challenger")
    assert list(registered_targets(tmp_path)) == ["churn-champion"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_each_object_store_speaks_its_clouds_scheme(tmp_path):
    cfg = ServicesConfig(home=tmp_path)
    creds = load_or_create(tmp_path)
    s3, azure, gcs = (object_store(cfg, creds, kind) for kind in ("s3", "azure", "gcs"))
    assert (s3.pipeline_root, s3.mlflow_destination) == (
        "s3://mlplatform/artifacts",
        "s3://mlplatform/mlartifacts",
    )
    assert azure.pipeline_root.startswith("abfs://mlplatform/")
    assert azure.mlflow_destination.startswith("wasbs://mlplatform@devstoreaccount1.blob.")
    assert gcs.pipeline_root.startswith("gs://mlplatform/")
    assert s3.storage_options["key"] == creds.s3_access_key
    assert "AZURE_STORAGE_CONNECTION_STRING" in azure.mlflow_env
    assert gcs.mlflow_env == {"STORAGE_EMULATOR_HOST": "http://127.0.0.1:14443"}


def test_the_projects_production_aliases_reach_the_audit_receiver(tmp_path):
    # GIVEN a project that ties champion to production
    from mlplatform.services.audit_receiver import AuditReceiver
    from mlplatform.services.config import ServicesConfig
    from mlplatform.services.credentials import load_or_create

    cfg = ServicesConfig(home=tmp_path, production_aliases=("champion",))
    # THEN the receiver governs it, and the recorded config keeps it
    argv = AuditReceiver().launch(cfg, load_or_create(tmp_path)).argv
    assert "--production-alias=champion" in argv
    assert ServicesConfig.from_json(cfg.to_json()).production_aliases == ("champion",)
