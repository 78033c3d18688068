"""`bench/run.py --quick` runs end to end and writes well-formed JSON with every scenario.

No timed assertions: this proves the benchmark works, not how fast the gateway is.
Needs `wrk`: skipped on a developer machine without it, a failure under CI (.ci/run installs it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench_harness import run_bench
from node_harness import require

SCENARIOS = {"a_first_page", "b_traversal", "c_filtered", "d_nodes", "e_coalescing"}


def test_quick_benchmark_writes_every_scenario(tmp_path: Path) -> None:
    require("wrk", shutil.which("wrk") is not None, "apt-get install -y wrk")
    results = run_bench("run.py", tmp_path / "latest.json", "--quick", "--no-report", timeout=300)

    runs = results["runs"]
    assert {run["scenario"] for run in runs} == SCENARIOS
    assert {run["concurrency"] for run in runs} == {1, 32}
    for run in runs:
        for key in ("rps", "p50_ms", "p99_ms", "upstream_requests_per_request", "upstream_items_per_request"):
            assert isinstance(run[key], (int, float)), (run["scenario"], key)
        assert set(run["errors"]) >= {"non_2xx", "socket", "graphql"}
        assert run["requests"] >= 0, run  # a 1 s run may finish no slow request: no timed assertions
    assert {floor["scenario"] for floor in results["floor"]} == SCENARIOS
    assert results["coalescing_burst"]["0"]["upstream_requests_per_request"] >= 0
    assert results["peak_rss"]["0"]["max_process_mb"] > 0
    assert {target["target"][:3] for target in results["targets"]} >= {"(a)", "(e)"}
