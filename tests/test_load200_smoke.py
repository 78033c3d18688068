"""`bench/load200.py` runs end to end, with and without admission control, and its load
(healthy upstreams) produces no `INTERNAL` and no transport error.

Counts only, no timed assertions: how fast is for bench/README.md.
"""

from __future__ import annotations

from pathlib import Path

from bench_harness import run_bench


def test_a_short_load_with_and_without_admission_has_no_internal_and_no_transport_error(tmp_path: Path) -> None:
    results = run_bench(
        "load200.py", tmp_path / "load200.json", "--duration", "1", "--repeat", "1", "--clients", "24", "--arms", "off,c2", timeout=240
    )
    assert set(results["runs"]) == {"off", "c2"}
    for arm, [run] in results["runs"].items():
        assert run["internal"] == 0 and run["transport_errors"] == 0, (arm, run)
        assert set(run["statuses"]) <= {"200", "503"}, (arm, run)
        assert set(run["codes"]) <= {"OVERLOADED", "PAGE_INCOMPLETE"}, (arm, run)
    assert results["runs"]["off"][0]["refused"] == 0
