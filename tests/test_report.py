"""cookbook.book.report: tables and figures built from the runs' own metrics.json files."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cookbook.book import report


def write_run(folder, method, knn, process_s=None):
    folder.mkdir(parents=True)
    metrics = {"method": method, "dataset": "toy", "backbone": "small_cnn", "knn_acc": knn,
               "random_init_knn_acc": 0.13, "raw_pixel_knn_acc": 0.24, "linear_acc": knn + 0.05,
               "rankme": 40.5, "feature_dim": 128, "steps": 600, "wall_s": 45.0, "device": "cpu"}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    if process_s is not None:
        (folder / "timing.json").write_text(json.dumps({"process_s": process_s}))
    return folder


def test_rows_follow_the_family_order_and_carry_the_numbers(tmp_path):
    vicreg = write_run(tmp_path / "b", "vicreg", 0.467, process_s=58.2)
    simclr = write_run(tmp_path / "a", "simclr", 0.509)
    rows = report.load_runs([vicreg, simclr / "metrics.json"])
    assert [r["method"] for r in rows] == ["simclr", "vicreg"]  # deep metric learning before canonical correlation
    assert rows[0]["family"] == "deep metric learning"
    assert rows[0]["process_s"] == 45.0  # no timing.json: the run's own wall time
    assert rows[1]["process_s"] == 58.2
    assert rows[1]["knn_gain"] == pytest.approx(0.467 - 0.13)


def test_markdown_table_shows_percentages_and_rankme_over_dimension(tmp_path):
    rows = report.load_runs([write_run(tmp_path / "a", "simclr", 0.509, process_s=51.4)])
    table = report.markdown_table(rows).splitlines()
    assert len(table) == 3
    assert table[0].startswith("| method | data | kNN | untrained | raw pixels |")
    assert table[2] == "| simclr | toy | 50.9% | 13.0% | 24.0% | 55.9% | 40.5 / 128 | 600 | 51 s |"


def test_comparison_figure_has_one_bar_per_method(tmp_path):
    rows = report.load_runs([write_run(tmp_path / "a", "simclr", 0.5), write_run(tmp_path / "b", "vicreg", 0.4)])
    fig = report.comparison_figure(rows, title="quick")
    accuracy_axes = fig.axes[0]
    assert [t.get_text() for t in accuracy_axes.get_xticklabels()] == ["simclr", "vicreg"]
    assert len(accuracy_axes.patches) == 4  # kNN and linear probe per method


def test_load_results_reads_a_benchmark_folder_and_says_how_to_make_a_missing_one(tmp_path):
    write_run(tmp_path / "digits-quick" / "simclr", "simclr", 0.9, process_s=20.0)
    rows = report.load_results("digits-quick", results=tmp_path)
    assert [r["method"] for r in rows] == ["simclr"] and rows[0]["process_s"] == 20.0
    with pytest.raises(FileNotFoundError, match="recipes_table.py --dataset toy --budget quick"):
        report.load_results("toy-quick", results=tmp_path)


def test_row_of_an_in_notebook_run_uses_its_own_wall_time():
    metrics = {"method": "byol", "dataset": "toy", "backbone": "small_cnn", "knn_acc": 0.3,
               "random_init_knn_acc": 0.1, "raw_pixel_knn_acc": 0.2, "linear_acc": 0.4, "rankme": 9.0,
               "feature_dim": 128, "steps": 10, "wall_s": 3.5, "device": "cpu"}
    row = report.row(metrics)
    assert row["family"] == "self-distillation" and row["process_s"] == 3.5
    assert row["knn_gain"] == pytest.approx(0.2)


def test_recipes_table_rewrites_the_whole_table_from_the_kept_runs(tmp_path):
    """After one recipe is retrained, --table-only writes every kept recipe's row, not the retrained one's alone."""
    root = Path(__file__).resolve().parents[1]
    for name in ("simclr", "vicreg"):
        shutil.copytree(report.RESULTS / "quick" / name, tmp_path / "kept" / "quick" / name)
    command = [sys.executable, str(root / "benchmarks" / "recipes_table.py"), "--table-only",
               "--kept-runs", str(tmp_path / "kept"), "--results", str(tmp_path / "out")]
    subprocess.run(command, check=True, capture_output=True, text=True)
    table = (tmp_path / "out" / "recipes-quick.md").read_text()
    assert "| simclr | toy |" in table and "| vicreg | toy |" in table and "| byol |" not in table
    empty = subprocess.run(command[:-4] + ["--kept-runs", str(tmp_path / "none"), "--results", str(tmp_path / "x")],
                           capture_output=True, text=True)
    assert empty.returncode == 2 and "no kept runs" in empty.stderr
