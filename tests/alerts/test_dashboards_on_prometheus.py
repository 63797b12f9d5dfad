"""Every panel of every committed dashboard, evaluated on a real Prometheus (Debian 2.42) over
TSDB blocks of a synthetic cluster whose answers are worked out by hand (``_prometheus``);
and each dashboard drawn as HTML and screenshotted by headless Chromium."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from _browser import chromium, console_messages
from mlplatform.alerts import cost_dashboard
from mlplatform.alerts.dashboard_view import fetch, panel_queries, render_html

from ._prometheus import END, Prometheus, running_prometheus

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "infrastructure" / "kubernetes" / "base" / "monitoring" / "dashboards"
BOARDS = sorted(DASHBOARDS.glob("dashboard.*.json"))


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with running_prometheus(tmp_path_factory.mktemp("prometheus")) as server:
        yield server


def cost(title: str, ref: str = "A") -> str:
    return panel_queries(cost_dashboard())[f"{title} [{ref}]"]


def test_the_monthly_cost_of_known_requests(prometheus):
    # GIVEN running containers requesting, in all, ml: 1.0 + 0.4 + 0.1 = 1.5 cores,
    # 2 + 1 = 3 GB, 1 GPU and llm: 2 cores, 8 GB, 1 GPU (a finished pod's 4 cores and 16 GB
    # are not counted) WHEN the monthly panel is evaluated
    got = prometheus.values(cost("Estimated monthly cost (requests x prices x 730 h)"))
    # THEN it is (3.5 x 0.048 + 11 x 0.006 + 2 x 0.526) x 730 = 1.286 x 730
    assert got == {"": pytest.approx((3.5 * 0.048 + 11 * 0.006 + 2 * 0.526) * 730)}
    assert got[""] == pytest.approx(938.78)


def test_cost_per_namespace_includes_gpus(prometheus):
    got = prometheus.values(cost("Cost per hour by namespace (GPU included)"), "namespace")
    assert got == {
        "ml": pytest.approx(1.5 * 0.048 + 3 * 0.006 + 1 * 0.526),  # 0.616
        "llm": pytest.approx(2 * 0.048 + 8 * 0.006 + 1 * 0.526),  # 0.67
    }


def test_efficiency_is_usage_over_requests_of_the_same_containers(prometheus):
    # ml uses 0.5 + 0.3 + 0.3 cores of 1.5 requested (the pod cgroup's and the pause
    # container's 5 cores are left out), and 1.5 + 0.5 GB of 3 (the proxy requests no memory)
    cpu = prometheus.values(cost("CPU efficiency (usage / requests)"), "namespace")
    memory = prometheus.values(cost("Memory efficiency (working set / requests)"), "namespace")
    assert cpu == {"ml": pytest.approx(1.1 / 1.5), "llm": pytest.approx(1.0 / 2.0)}
    assert memory == {"ml": pytest.approx(2.0 / 3.0), "llm": pytest.approx(6.0 / 8.0)}


def test_waste_is_idle_requests_in_dollars_never_below_zero_per_container(prometheus):
    # ml: cores 0.5 (trainer) + 0.1 (server) + 0 (proxy uses 0.3 of 0.1), memory 0.5 + 0.5 GB
    got = prometheus.values(cost("Resource waste per hour (requests - usage)"), "namespace")
    assert got == {
        "ml": pytest.approx(0.6 * 0.048 + 1.0 * 0.006),
        "llm": pytest.approx(1.0 * 0.048 + 2.0 * 0.006),
    }


def test_gpu_utilisation_by_the_pod_holding_the_gpu(prometheus):
    got = prometheus.query(cost("GPU utilisation by pod"))
    assert {(s["metric"]["namespace"], s["metric"]["pod"]): float(s["value"][1]) for s in got} == {
        ("ml", "train-1"): 70.0,
        ("llm", "chat-predictor-0"): 90.0,
    }


def test_llm_cost_per_million_tokens(prometheus):
    # GIVEN "chat" on one pod holding 1 GPU, generating 900 and reading 100 tokens a second
    title = "LLM cost per million tokens by model"
    ours = prometheus.values(cost(title, "A"), "model_name")
    # THEN $0.526 an hour over 1000 x 3600 / 1e6 = 3.6 million tokens an hour
    assert ours == {"chat": pytest.approx(0.526 / 3.6)}
    # AND OpenCost's blended allocation figure beside it
    assert prometheus.values(cost(title, "B"), "model_name") == {"chat": 0.9}


def test_opencost_monthly_figures(prometheus):
    title = "OpenCost monthly cost"
    # cores 1.0 + 0.4 at $0.03, 3 GiB at $0.004 per GiB, 1 GPU at $2.5
    allocated = (1.4 * 0.03 + 3 * 0.004 + 1 * 2.5) * 730
    assert prometheus.values(cost(title, "A")) == {"": pytest.approx(allocated)}
    assert prometheus.values(cost(title, "B")) == {"": pytest.approx((5.0 + 0.5) * 730)}


def test_a_wrong_price_changes_the_answer(prometheus):
    expr = cost("Estimated monthly cost (requests x prices x 730 h)")
    doubled = expr.replace("0.526", "1.052")
    assert prometheus.values(doubled)[""] != pytest.approx(938.78)


@pytest.mark.parametrize("path", BOARDS, ids=[p.name for p in BOARDS])
def test_every_panel_of_every_dashboard_returns_data(prometheus, path):
    # GIVEN a committed dashboard WHEN each target's PromQL runs at the data's end THEN each
    # returns at least one sample (a query that returns nothing fails)
    queries = panel_queries(json.loads(path.read_text()))
    assert queries
    empty = [key for key, expr in queries.items() if not prometheus.query(expr)]
    assert empty == []


def test_an_empty_query_is_seen_as_empty(prometheus):
    assert prometheus.query('kube_pod_container_resource_requests{resource="nope"}') == []


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert head[12:16] == b"IHDR", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_cost_dashboard_picture_loads_without_errors(prometheus, tmp_path):
    # GIVEN the cost dashboard's panels queried on the Prometheus, drawn as HTML
    board = cost_dashboard()
    panels = fetch(prometheus.url, board, END - 1800, END, 60)
    assert all(p.series for p in panels)
    page = tmp_path / "cost.html"
    page.write_text(render_html(board["title"], panels))
    assert "$938.78" in page.read_text()
    # WHEN Chromium loads it THEN the console is quiet
    loaded = chromium(tmp_path, "--dump-dom", page.as_uri(), console=True)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert console_messages(loaded.stderr) == []
    assert "LLM cost per million tokens by model" in loaded.stdout
    # AND its screenshot is a PNG of the window's size
    png = tmp_path / "cost.png"
    shot = chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,1160", page.as_uri())
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png_size(png) == (1200, 1160)


def test_the_committed_pictures_are_pngs_of_every_dashboard():
    pictures = REPO / "docs" / "images" / "dashboards"
    names = {p.name.removeprefix("dashboard.").removesuffix(".json") for p in BOARDS}
    for name in names:
        path = pictures / f"{name}.png"
        assert path.is_file(), f"{path} is missing: run make dashboards"
        assert png_size(path) == (1200, 1160)
