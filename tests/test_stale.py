"""benchmarks/stale.py: what a code change makes stale among the committed runs, and the retrain script."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import stale  # noqa: E402


def test_every_kind_of_committed_run_is_read_and_none_is_stale_on_main():
    runs = stale.committed()
    kinds = {kind: [r for r in runs if r["kind"] == kind] for kind in ("sweep", "quick run", "lab run")}
    assert len(kinds["sweep"]) >= 30 and len(kinds["quick run"]) >= 32 and len(kinds["lab run"]) >= 17
    assert all(r["cpu_s"] > 0 and r["digest"] for r in runs)
    assert stale.stale(runs) == []


def test_a_recipe_stales_its_own_runs_the_engine_every_run_and_prose_none():
    runs = stale.committed()
    dino = stale.stale(runs, ["recipes/dino.py"])
    assert {r["recipe"] for r in dino} == {"dino"} and {r["kind"] for r in dino} == {"sweep", "quick run", "lab run"}
    assert len(stale.stale(runs, ["cookbook/train.py"])) == len(runs)
    assert stale.stale(runs, ["README.md", "cookbook/book/claims.py"]) == []


def test_a_run_trained_by_other_code_is_found_stale():
    runs = stale.committed()
    runs[0] = {**runs[0], "digest": "0" * 64}
    assert [r["name"] for r in stale.stale(runs)] == [runs[0]["name"]]


def test_the_lanes_split_the_work_evenly_and_the_script_runs_each_command_once(tmp_path):
    runs = stale.committed()
    split = stale.lanes(runs, 2)
    totals = [sum(r["cpu_s"] for r in lane) for lane in split]
    assert abs(totals[0] - totals[1]) <= max(r["cpu_s"] for r in runs)
    text = stale.script(split)
    assert all(text.count(r["command"] + " ||") == 1 for r in runs)
    (tmp_path / "retrain.sh").write_text(text)
    subprocess.run(["bash", "-n", str(tmp_path / "retrain.sh")], check=True)
