"""bench/report.py on a tiny synthetic pytest-benchmark JSON: the generated RESULTS.md tables."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def _bench(name, group, median, params=None, **extra_info):
    stats = {"median": median, "min": 0.9 * median, "max": 1.1 * median, "rounds": 3}
    return {"name": name, "group": group, "params": params, "stats": stats, "extra_info": extra_info}


DATA = {
    "machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}},
    "commit_info": {"id": "0123456789abcdef", "dirty": True},
    "datetime": "2026-12-06T22:00:00",
    "benchmarks": [
        _bench("test_a[rankcore]", "walks 1M k=16 cpu", 0.002, impl="rankcore", dtype="torch.int64", nnz=10**6,
               bytes=4 * 10**6),
        _bench("test_a[scipy]", "walks 1M k=16 cpu", 0.005, impl="scipy float64", dtype="float64", nnz=10**6,
               bytes=4 * 10**6),
        _bench("test_naive", "walks 1M k=16 cpu", 0.001, impl="naive", nnz=10**6, extrapolated_full_order_s=0.008),
        _bench("test_world[1]", "distributed scale-out 1M", 3.0, params={"size": "1M", "world": 1}, walks_s=1.23456,
               halo=0),
        _bench("test_world[2]", "distributed scale-out 1M", 2.0, params={"size": "1M", "world": 2}, walks_s=0.7,
               halo=123_456),
        _bench("test_world[1M-4]", "distributed scale-out 1M", 1.0, params={"size": "1M", "world": 4}),
        _bench("test_plain", None, 1.5),
    ],
}


def _write(tmp_path, meta=True):
    (tmp_path / "walks.json").write_text(json.dumps(DATA))
    if meta:
        (tmp_path / "walks.meta.json").write_text(json.dumps({
            "command": "OMP_NUM_THREADS=1 python -m pytest bench/bench_walks.py", "omp_num_threads": "1",
            "load_before": "2.00 2.50 2.60", "load_after": "3.00 2.70 2.60", "start": "2026-12-06 22:00 UTC",
            "end": "2026-12-06 22:05 UTC", "wall_s": 300, "exit_code": 0, "note": "10M did not run."}))
    return tmp_path


def _table(text, heading):
    """The rows of the markdown table under ``### heading`` as lists of cells."""
    block = text.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines() if line.startswith("|")]


def test_group_table_columns_and_ratio(tmp_path):
    text = report.report(_write(tmp_path))
    rows = _table(text, "walks 1M k=16 cpu")
    head, body = rows[0], rows[2:]
    assert head == ["implementation", "median ms", "min ms", "max ms", "runs", "GB/s", "dtype", "bytes",
                    "extrapolated_full_order_s", "time / rankcore"]
    by_name = {r[0]: dict(zip(head, r)) for r in body}
    assert list(by_name) == ["rankcore", "scipy float64", "naive"]  # by the compared time
    assert by_name["rankcore"]["median ms"] == "2" and by_name["rankcore"]["dtype"] == "int64"
    assert by_name["rankcore"]["GB/s"] == "2" and by_name["naive"]["GB/s"] == "-"
    assert by_name["scipy float64"]["time / rankcore"] == "2.50x"
    assert by_name["naive"]["time / rankcore"] == "4.00x"  # the extrapolated time, not the timed steps
    assert "Every row: nnz = 1,000,000." in text  # a field equal in every row is written once


def test_rows_without_impl_and_sections(tmp_path):
    text = report.report(_write(tmp_path))
    rows = _table(text, "distributed scale-out 1M")
    assert rows[0] == ["implementation", "median s", "min s", "max s", "runs", "walks_s", "halo"]
    # no rankcore row: the order they ran; a name in the group's title is left out of the label, a number is not
    assert [r[0] for r in rows[2:]] == ["world=1", "world=2", "world=4"]
    assert rows[2][5:] == ["1.23", "0"] and rows[3][6] == "123,456" and rows[4][5:] == ["-", "-"]
    assert "### test_plain" in text  # no group: the test's name
    assert text.startswith("# Benchmark results")
    assert "## bench_walks.py" in text and "Test CPU, 2 cores" in text
    assert "load average 2.00 2.50 2.60 before" in text and "OMP_NUM_THREADS=1" in text
    assert "commit 012345678 with uncommitted changes" in text and "* 10M did not run." in text
    assert "## bench_cp.py\n\nNo current result." in text  # a bench file without JSON is named


def test_a_gpu_run_beside_the_cpu_run(tmp_path):
    folder = _write(tmp_path)
    (folder / "walks_cuda.json").write_text(json.dumps(DATA))
    text = report.report(folder)
    assert "## bench_walks.py\n" in text and "## bench_walks.py (walks_cuda.json)\n" in text
    assert "[bench_walks.py (walks_cuda.json)](#bench_walkspy-walks_cudajson)" in text


def test_single_file_and_cli(tmp_path, capsys):
    folder = _write(tmp_path, meta=False)
    report.main([str(folder / "walks.json")])
    out = capsys.readouterr().out
    assert out.startswith("## bench_walks.py") and "Command: not recorded" in out
    report.main([str(folder), "--out", str(tmp_path / "RESULTS.md")])
    assert (tmp_path / "RESULTS.md").read_text() == report.report(folder)


def test_section_text_from_the_bench_file(tmp_path, monkeypatch):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "bench_walks.py").write_text('"""Walks against torch,\nin one run.\n\nDetails."""\n\n'
                                          'REPORT_NOTE = "Read the walks_s column."\nREPORT_BASELINE = "scipy float64"\n')
    monkeypatch.setattr(report, "BENCH", bench)
    results = tmp_path / "results"
    results.mkdir()
    text = report.report(_write(results))
    assert "## bench_walks.py\n\nWalks against torch, in one run.\n\nRead the walks_s column.\n" in text
    assert "Details" not in text and "## bench_cp.py" not in text  # only the bench files that exist
    rows = _table(text, "walks 1M k=16 cpu")
    assert rows[0][-1] == "time / scipy float64" and rows[2][0] == "rankcore" and rows[2][-1] == "0.40x"
