"""The serving benchmark's pure parts: wrk parsing, CPU accounting, the table and the targets.

No timing is asserted anywhere; the one end-to-end run (``--quick --only hello``) checks that
every figure was produced, not how large it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from rich.console import Console

WRK_C64 = """\
Running 8s test @ http://127.0.0.1:18081/v1/models/iris:predict
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    49.21ms   18.59ms 181.70ms   91.94%
    Req/Sec   672.35    182.03     0.97k    64.10%
  Latency Distribution
     50%   45.51ms
     75%   53.48ms
     90%   65.99ms
     99%  138.97ms
  5268 requests in 4.00s, 740.81KB read
Requests/sec:   1315.38
Transfer/sec:    184.98KB
"""

WRK_C1 = """\
Running 2s test @ http://127.0.0.1:18080/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    88.06us  165.81us   4.18ms   98.82%
    Req/Sec    13.06k     0.91k   14.52k    90.48%
  Latency Distribution
     50%   66.00us
     75%   86.00us
     90%   98.00us
     99%  375.00us
  27274 requests in 2.10s, 3.75MB read
Requests/sec:  12986.07
Transfer/sec:      1.78MB
"""

WRK_ERRORS = """\
Running 1m test @ http://127.0.0.1:18081/v1/models/nope:predict
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.24ms  400.50ms   1.99s    70.05%
    Req/Sec    40.77     20.12   100.00     64.10%
  Latency Distribution
     50%  790.11ms
     75%    1.01s
     90%    1.40s
     99%    1.92s
  2655 requests in 1.00m, 466.70KB read
  Socket errors: connect 0, read 12, write 1, timeout 3
  Non-2xx or 3xx responses: 2655
Requests/sec:     44.24
Transfer/sec:      7.78KB
"""


@pytest.fixture(scope="module")
def bench(load_benchmark) -> ModuleType:
    return load_benchmark("serving")


def _cell(bench: ModuleType, server: str, protocol: str, c: int, **figures: float) -> object:
    """A cell holding one sample with the given figures (and matching wrk totals)."""
    wrk = bench.WrkResult(
        requests=int(figures.get("rps", 100) * 8),
        seconds=8.0,
        rps=figures.get("rps", 100.0),
        p50_ms=figures.get("p50", 1.0),
        p99_ms=figures.get("p99", 2.0),
        non_2xx=int(figures.get("non_2xx", 0)),
    )
    cell = bench.Cell(server, protocol, c)
    cell.samples.append(bench.Sample(wrk, figures.get("cpu", 0.5)))
    return cell


# ---- wrk ------------------------------------------------------------------------------------
def test_parse_wrk_reads_throughput_and_percentiles_in_ms(bench: ModuleType) -> None:
    # GIVEN wrk's output of a run at 64 connections
    # WHEN it is parsed
    got = bench.parse_wrk(WRK_C64)
    # THEN the totals, the rate and the 50th/99th percentiles (in ms) are read, and no errors
    assert (got.requests, got.seconds, got.rps) == (5268, 4.0, 1315.38)
    assert got.p50_ms == pytest.approx(45.51)
    assert got.p99_ms == pytest.approx(138.97)
    assert got.errors == 0


def test_parse_wrk_converts_microseconds_seconds_and_minutes(bench: ModuleType) -> None:
    # GIVEN outputs whose latencies are in µs and in s, and a run that lasted 1.00m
    fast, slow = bench.parse_wrk(WRK_C1), bench.parse_wrk(WRK_ERRORS)
    # THEN every figure is converted to milliseconds (or seconds for the duration)
    assert fast.p50_ms == pytest.approx(0.066)
    assert fast.p99_ms == pytest.approx(0.375)
    assert slow.p99_ms == pytest.approx(1920.0)
    assert slow.seconds == pytest.approx(60.0)


def test_parse_wrk_counts_non_2xx_and_socket_errors(bench: ModuleType) -> None:
    # GIVEN a run with HTTP errors and socket errors
    got = bench.parse_wrk(WRK_ERRORS)
    # THEN both are counted, so that the run is flagged
    assert got.non_2xx == 2655
    assert got.socket_errors == 16
    assert got.errors == 2671


def test_parse_wrk_rejects_output_without_figures(bench: ModuleType) -> None:
    # GIVEN wrk output that stops before the latency distribution (a failed run)
    broken = "unable to connect to 127.0.0.1:1 Connection refused\n"
    # THEN parsing raises the benchmark's error, quoting what wrk said
    with pytest.raises(bench.BenchmarkError, match="Connection refused"):
        bench.parse_wrk(broken)


def test_wrk_command_uses_one_thread_for_one_connection(bench: ModuleType) -> None:
    # WHEN wrk's command line is built for 1 and for 64 connections
    one = bench.wrk_command("http://h/p", Path("s.lua"), 1, 8)
    many = bench.wrk_command("http://h/p", Path("s.lua"), 64, 8)
    # THEN it asks for latencies, a 10 s timeout, and 1 thread only where there is 1 connection
    assert one[:4] == ["wrk", "-t1", "-c1", "-d8s"]
    assert many[:4] == ["wrk", "-t2", "-c64", "-d8s"]
    assert {"--latency", "--timeout", "10s"} <= set(many)
    assert many[-3:] == ["-s", "s.lua", "http://h/p"]


def test_lua_script_posts_the_json_body_escaped(bench: ModuleType) -> None:
    # GIVEN a body with a quote and a backslash in it
    script = bench.lua_script({"instances": [[1.5, 2.0]], "tag": "it's \\ fine"})
    # THEN the script POSTs it as JSON, with the Lua string still closed properly
    assert 'wrk.method = "POST"' in script
    assert 'wrk.headers["Content-Type"] = "application/json"' in script
    assert """wrk.body = '{"instances": [[1.5, 2.0]], "tag": "it\\'s \\\\\\\\ fine"}'""" in script


# ---- CPU accounting -------------------------------------------------------------------------
def test_cpu_per_request_divides_the_delta_by_completed_requests(bench: ModuleType) -> None:
    # 0.5 s of CPU over 1000 requests is 0.5 ms each
    assert bench.cpu_ms_per_request(10.0, 10.5, 1000) == pytest.approx(0.5)
    # no request completed: no figure, rather than a division by zero
    assert bench.cpu_ms_per_request(10.0, 10.5, 0) is None
    # a process tree that lost a child between samples cannot report negative CPU
    assert bench.cpu_ms_per_request(10.0, 9.0, 10) == 0.0


def test_tree_cpu_counts_the_children_of_the_server(bench: ModuleType) -> None:
    # GIVEN a process whose child burns 0.3 s of CPU, then waits
    burn = textwrap.dedent(
        """
        import subprocess, sys, time
        code = "import time\\nt = time.process_time()\\n"
        code += "while time.process_time() - t < 0.3: pass\\n"
        code += "print('done', flush=True)\\ntime.sleep(30)"
        child = subprocess.Popen([sys.executable, "-c", code], stdout=sys.stdout)
        child.wait()
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", burn], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "done"
        # WHEN the tree's CPU is read through the parent's PID
        used = bench.servers.tree_cpu_seconds(parent.pid)
        # THEN the child's CPU is in it
        assert used >= 0.3 - 0.02  # psutil reads CPU time in clock ticks (10 ms)
    finally:
        for proc in bench.servers.psutil.Process(parent.pid).children(recursive=True):
            proc.kill()
        parent.kill()
        parent.wait()


def test_tree_cpu_of_a_gone_process_is_zero(bench: ModuleType) -> None:
    # GIVEN a process that has exited and been reaped
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    # THEN reading its tree's CPU gives 0 rather than an error
    assert bench.servers.tree_cpu_seconds(gone.pid) == 0.0


# ---- cells, targets, table ------------------------------------------------------------------
def test_cell_reports_medians_and_hides_figures_once_it_failed(bench: ModuleType) -> None:
    # GIVEN a cell with three runs
    cell = _cell(bench, "kserve", "v1", 64, rps=100, p99=9.0, cpu=0.4)
    for rps, p99, cpu in ((300.0, 1.0, 0.2), (200.0, 5.0, 0.3)):
        cell.samples.extend(_cell(bench, "kserve", "v1", 64, rps=rps, p99=p99, cpu=cpu).samples)
    # THEN each figure is the median of the runs
    assert (cell.rps, cell.p99_ms, cell.cpu_ms) == (200.0, 5.0, 0.3)
    # AND once the cell records an error it reports no figure at all
    cell.error = "server exited 1"
    assert cell.rps is None
    assert cell.cpu_ms is None


def _cells(bench: ModuleType, **ours: float) -> dict[tuple[str, str, int], object]:
    figures = {"rps": 6000.0, "p99": 20.0, "cpu": 0.2, **ours}
    cells = {}
    for proto in ("v1", "v2"):
        cells["mlplatform", proto, 64] = _cell(bench, "mlplatform", proto, 64, **figures)
        cells["kserve", proto, 64] = _cell(bench, "kserve", proto, 64, rps=1900, p99=40, cpu=1)
    cells["hello", "-", 64] = _cell(bench, "hello", "-", 64, rps=20000, cpu=0.03)
    return cells


def test_targets_met_when_ours_is_3x_kserve_faster_p99_and_cpu_under_2x_floor(
    bench: ModuleType,
) -> None:
    # GIVEN ours at 6000 req/s, p99 20 ms, 0.2 ms CPU; KServe at 1900 req/s, p99 40 ms;
    # a floor of 0.1 ms predict + 0.03 ms hello
    floor = bench.Floor(predict_1_row_ms=0.1, predict_64_rows_per_row_ms=0.002)
    # WHEN the targets are evaluated at concurrency 64
    checks = bench.targets(_cells(bench), floor)
    # THEN all six (3 per protocol) are met
    assert len(checks) == 6
    assert [t.met for t in checks] == [True] * 6
    assert checks[0].measured.startswith("3.16 x")
    assert "0.130 ms" in checks[2].measured


def test_targets_missed_for_slow_ours_and_high_cpu(bench: ModuleType) -> None:
    floor = bench.Floor(predict_1_row_ms=0.1, predict_64_rows_per_row_ms=0.002)
    # GIVEN ours only 2.5 x KServe, with a p99 above KServe's and 0.3 ms CPU (> 2 x 0.13)
    checks = bench.targets(_cells(bench, rps=4750.0, p99=41.0, cpu=0.3), floor)
    # THEN every target is missed
    assert [t.met for t in checks] == [False] * 6


def test_targets_missed_when_ours_failed_requests(bench: ModuleType) -> None:
    # GIVEN ours fast but answering some requests with errors (e.g. 503 when its queue is full)
    floor = bench.Floor(predict_1_row_ms=0.1, predict_64_rows_per_row_ms=0.002)
    checks = bench.targets(_cells(bench, non_2xx=5), floor)
    # THEN the throughput and p99 targets are missed, and the measurement says why
    assert checks[0].met is False
    assert checks[1].met is False
    assert "5 failed requests" in checks[0].measured


def test_targets_not_measured_without_kserve_or_floor(bench: ModuleType) -> None:
    # GIVEN no KServe cells, no hello cell and no floor
    cells = {k: v for k, v in _cells(bench).items() if k[0] == "mlplatform"}
    checks = bench.targets(cells, None)
    # THEN nothing is claimed either way
    assert [t.met for t in checks] == [None] * 6
    assert {t.measured for t in checks} == {"not measured"}


def test_check_exits_1_on_a_missed_target_and_2_on_a_target_without_a_figure(
    bench: ModuleType,
) -> None:
    floor = bench.Floor(predict_1_row_ms=0.1, predict_64_rows_per_row_ms=0.002)
    met = bench.targets(_cells(bench), floor)
    missed = bench.targets(_cells(bench, rps=4750.0), floor)
    unmeasured = bench.targets({k: v for k, v in _cells(bench).items() if k[0] != "kserve"}, floor)
    # WITHOUT --check every outcome exits 0 (make bench prints and goes on)
    assert {bench.exit_code(c, False) for c in (met, missed, unmeasured)} == {0}
    # WITH --check a missed target exits 1, a target without a figure 2 (cannot vouch)
    assert bench.exit_code(met, True) == 0
    assert bench.exit_code(missed, True) == 1
    assert bench.exit_code(unmeasured, True) == 2
    assert bench.parse_args(["--quick", "--check"]).check is True


def test_ratio_reference_is_ours_on_the_same_protocol_else_v1(bench: ModuleType) -> None:
    cells = _cells(bench)
    cells["mlplatform", "v2", 64] = _cell(bench, "mlplatform", "v2", 64, rps=5000)
    assert bench.reference(cells, "v2", 64) is cells["mlplatform", "v2", 64]
    assert bench.reference(cells, "mlflow", 64) is cells["mlplatform", "v1", 64]
    assert bench.reference(cells, "v1", 8) is None


def test_table_shows_ratios_to_ours_and_failures(bench: ModuleType) -> None:
    # GIVEN measured cells plus a peer that did not start
    cells = _cells(bench)
    cells["mlflow", "mlflow", 64] = bench.Cell("mlflow", "mlflow", 64, error="did not start")
    console = Console(record=True, width=250)
    # WHEN the results table is printed
    console.print(bench.results_table(cells, [64]))
    text = console.export_text()
    # THEN KServe's row says ours is 3.16 x faster and uses 5 x its CPU; mlflow's shows why
    kserve = next(line for line in text.splitlines() if "stock KServe" in line and "v1" in line)
    assert "3.16" in kserve
    assert "5.00" in kserve
    assert "did not start" in text


def test_log_output_is_reported_per_request_to_catch_per_request_logging(
    bench: ModuleType,
) -> None:
    # GIVEN KServe wrote 16 kB to its log over 200 requests, ours nothing over 160
    cells = {
        ("kserve", "v1", 64): _cell(bench, "kserve", "v1", 64, rps=10),
        ("kserve", "v2", 64): _cell(bench, "kserve", "v2", 64, rps=15),
        ("mlplatform", "v1", 64): _cell(bench, "mlplatform", "v1", 64, rps=20),
        ("mlflow", "mlflow", 64): bench.Cell("mlflow", "mlflow", 64, error="did not start"),
    }
    floor = bench.Floor(0.1, 0.002)
    outcome = bench.Outcome(cells, floor, {}, log_bytes={"kserve": 16_000, "mlplatform": 0})
    # THEN the bytes per request are 80 and 0, and the server that did not run is left out
    assert bench.log_bytes_per_request(outcome) == {"kserve": 80.0, "mlplatform": 0.0}


def test_mlserver_settings_switch_batching_and_access_log(bench: ModuleType) -> None:
    plain, plain_model = bench.servers.mlserver_settings(1, 2, 3, Path("/m.joblib"), False)
    _, batched = bench.servers.mlserver_settings(1, 2, 3, Path("/m.joblib"), True)
    assert plain["debug"] is False  # MLServer's access log switch
    assert (plain["http_port"], plain["grpc_port"], plain["metrics_port"]) == (1, 2, 3)
    assert plain_model["parameters"] == {"uri": "/m.joblib"}
    assert "max_batch_size" not in plain_model
    assert batched["max_batch_size"] == 64


def test_every_server_is_named_once(bench: ModuleType) -> None:
    assert list(bench.SPECS) == [
        "mlplatform",
        "kserve",
        "mlflow",
        "mlserver",
        "mlserver-batching",
        "hello",
    ]


def test_server_env_pins_one_thread_and_puts_its_venv_first(bench: ModuleType) -> None:
    env = bench.servers.server_env(bench.SPECS["mlflow"])
    assert env["OMP_NUM_THREADS"] == "1"
    assert env["UVICORN_ACCESS_LOG"] == "false"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_a_server_that_exits_is_reported_with_its_log(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a server whose process prints an error and exits at once
    def crash(port: int, files: object, folder: Path) -> list[str]:
        return [sys.executable, "-c", "import sys; print('boom: no model'); sys.exit(3)"]

    spec = bench.servers.Spec("mlplatform", "ours", "/ready", (), crash, Path(sys.executable))
    monkeypatch.setitem(bench.SPECS, "mlplatform", spec)
    # WHEN every server is started
    files = bench.servers.ModelFiles(tmp_path / "m.joblib", tmp_path / "m")
    running, failed = bench.servers.start_all(["mlplatform"], files, tmp_path, Console(quiet=True))
    # THEN it is not among the running ones, and its exit status and log are kept to print
    assert running == []
    assert "exited 3" in failed["mlplatform"]
    assert "boom: no model" in failed["mlplatform"]


def test_run_fails_when_ours_or_the_floor_has_no_figure(bench: ModuleType) -> None:
    # GIVEN ours measured, the hello floor never started, and a peer that failed
    cells = _cells(bench)
    cells["hello", "-", 64].error = "did not start (below)"
    cells["mlflow", "mlflow", 64] = bench.Cell("mlflow", "mlflow", 64, error="did not start")
    cells["mlplatform", "v2", 8] = bench.Cell("mlplatform", "v2", 8)
    # THEN ours' empty cell and the floor are listed (the run exits 2, a failed measurement);
    # the peer is not
    assert bench.unmeasured_ours(cells) == [
        "hello - c=64: did not start (below)",
        "mlplatform v2 c=8: no sample",
    ]


# ---- command line -----------------------------------------------------------------------------
def test_quick_is_one_short_run_and_only_checks_names(bench: ModuleType) -> None:
    cfg = bench.parse_args(["--quick", "--only", "hello,kserve", "--concurrency", "1,64"])
    assert (cfg.repeat, cfg.duration_s, cfg.names, cfg.concurrency) == (
        1,
        2.0,
        ["hello", "kserve"],
        [1, 64],
    )
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "torchserve"])
    with pytest.raises(SystemExit):  # wrk takes whole seconds only
        bench.parse_args(["--duration", "1.5"])


def test_main_without_wrk_says_how_to_install_it(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench.shutil, "which", lambda _: None)
    assert bench.main(["--quick"]) == 2
    assert "apt-get install wrk" in capsys.readouterr().out


@pytest.mark.slow
def test_quick_run_of_the_hello_floor_produces_every_figure(
    bench: ModuleType, tmp_path: Path
) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: run `make test` (it installs it) or apt-get install wrk")
    # GIVEN the benchmark limited to the hello-world floor, one short run at 8 connections
    out = tmp_path / "serving.json"
    # WHEN it runs
    code = bench.main(["--quick", "--only", "hello", "--concurrency", "8", "--json", str(out)])
    # THEN it succeeds and the JSON holds the floor and a figure for every column
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["floor"]["predict_1_row_ms"] > 0
    (cell,) = doc["cells"]
    assert cell["error"] is None
    assert cell["rps"] > 0
    assert cell["cpu_ms_per_request"] > 0
    assert cell["p99_ms"] >= cell["p50_ms"] > 0
    assert {t["met"] for t in doc["targets"]} == {None}
