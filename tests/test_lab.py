"""The lab driven from Python, without a browser: start, stop, reset, autorun, and the checkers."""
from __future__ import annotations

import asyncio
import time

import pytest
import torch

from cookbook import evaluate, registry
from cookbook.book import checks, collapse, lab_runs, probes
from cookbook.book.lab import Lab
from cookbook.config import ConfigError
from cookbook.run import prepare
from recipes import simclr

TINY = dict(budget="quick", n_train=64, n_test=32, batch_size=16, width=4, proj_hidden_dim=32, proj_dim=16)


def tiny_lab(**overrides) -> Lab:
    return Lab("simclr", **{"steps": 8, "chunk": 2, "autorun": False, **TINY, **overrides})


def test_panel_has_the_controls_the_recipe_declares():
    lab = tiny_lab()
    lab.widget()
    assert set(lab._widgets["recipe"]) == {"temperature", "batch_size", "lr", "steps"}
    assert {"crop_min_scale", "jitter_strength", "gray_p", "blur_p"} == set(lab._widgets["augment"])
    lab._widgets["recipe"]["temperature"].value = 0.7
    lab._widgets["recipe"]["batch_size"].value = 32
    lab._widgets["augment"]["gray_p"].value = 0.0
    config = lab.config()
    assert config.temperature == 0.7 and config.augment.gray_p == 0.0
    assert config.batch_size == 32 and isinstance(config.batch_size, int)  # an IntSlider: the model needs an int


def test_start_without_an_event_loop_trains_to_the_end_and_draws():
    lab = tiny_lab()
    lab.widget()
    lab.start()
    assert lab.done and lab.trainer.step == 8
    assert [r["step"] for r in lab.history if "knn_acc" in r] == [0, 2, 4, 6, 8]
    assert lab._widgets["image"].value[:8] == b"\x89PNG\r\n\x1a\n"
    assert lab._widgets["status"].value.startswith("finished: step 8/8")


def test_stop_takes_effect_within_one_chunk_and_start_continues():
    lab = tiny_lab(steps=12, chunk=2)
    lab.widget()

    async def scenario():
        task = lab.start()
        assert task is not None and lab._widgets["start"].disabled
        await asyncio.sleep(0)  # let the task run its first chunk
        lab.stop()
        step_when_stopped = lab.trainer.step
        await task
        return step_when_stopped

    step_when_stopped = asyncio.run(scenario())
    assert lab.trainer.step - step_when_stopped <= lab.chunk
    assert not lab.done and lab._widgets["status"].value.startswith("paused")
    assert not lab._widgets["start"].disabled and lab._widgets["stop"].disabled

    async def resume():
        await lab.start()

    asyncio.run(resume())
    assert lab.done


def test_reset_applies_the_controls_and_restarts_from_the_same_seed():
    lab = tiny_lab(warmup_steps=6)
    lab.widget()
    lab.run()
    first = [r["knn_acc"] for r in lab.history if "knn_acc" in r]
    lab.reset()
    assert lab.trainer.step == 0 and len(lab.history) == 1
    lab.run()
    assert [r["knn_acc"] for r in lab.history if "knn_acc" in r] == first  # reproducible from the seed
    lab._widgets["recipe"]["temperature"].value = 1.5
    lab._widgets["recipe"]["steps"].value = 4
    lab.reset()
    assert lab.trainer.config.temperature == 1.5 and lab.trainer.config.steps == 4
    # The lab's 6 warm-up steps are cut to the 4-step run (the config refuses more), a longer run keeps all 6.
    assert lab.trainer.config.warmup_steps == 4
    lab._widgets["recipe"]["steps"].value = 16
    lab.reset()
    assert lab.trainer.config.warmup_steps == 6


def test_the_status_shows_the_pace_of_the_run_without_its_pauses():
    lab = tiny_lab()
    lab.widget()
    assert "steps/s" not in lab.summary()  # nothing trained yet
    lab.run_chunk()
    assert lab.timed_steps == 2 and f"{2 / lab.timed_seconds:.1f} steps/s" in lab.summary()
    before = lab.timed_seconds
    time.sleep(0.3)  # a pause between chunks: not counted
    started = time.perf_counter()
    lab.run_chunk()
    assert lab.timed_steps == 4 and 0 < lab.timed_seconds - before <= time.perf_counter() - started
    lab.reset()
    assert lab.timed_steps == 0 and "steps/s" not in lab.summary()


def test_a_diverging_run_shows_its_diagnosis_in_the_panel():
    lab = tiny_lab(lr=1e30)
    lab.widget()
    lab.run()
    assert lab.error and "learning rate" in lab.error
    assert lab._widgets["status"].value.startswith("stopped:")


def test_autorun_displays_the_panel_and_a_static_figure(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    lab = tiny_lab(autorun=True)
    lab.show()
    from IPython.display import Image

    assert lab.done
    assert shown[0] is lab.widget() and isinstance(shown[-1], Image) and shown[-1].data[:4] == b"\x89PNG"


def test_an_autorun_panel_says_it_is_a_static_frame_and_a_click_removes_the_note(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda *objs: None)
    lab = tiny_lab(autorun=True)
    lab.show()
    panel, note = lab.widget(), lab._widgets["note"]
    assert "cookbook-lab" in panel._dom_classes and "cookbook-lab-static-note" in note._dom_classes
    assert "final frame of a 8-step run" in note.value and "Colab" in note.value
    lab._widgets["reset"].click()  # a live kernel answered the click: the note would mislead now
    assert note.value == ""
    assert "final frame" not in tiny_lab().widget().children[2].value  # a live lab never shows it


def test_each_finished_or_stopped_run_is_kept_with_its_settings_and_overlaid():
    lab = tiny_lab(steps=4, chunk=2)
    lab.widget()
    lab.run()
    assert [r["number"] for r in lab.runs] == [1] and lab.runs[0]["settings"]["temperature"] == lab.config().temperature
    lab._widgets["recipe"]["temperature"].value = 0.9
    lab.reset()
    lab.run_chunk()
    lab.stop()
    lab.keep_run()  # what the stopped task does on its way out
    lab.keep_run()  # kept twice: still one entry
    assert [(r["number"], r["step"]) for r in lab.runs] == [(1, 4), (2, 2)]
    lab.run()  # continued to the end: the same run, updated
    assert [(r["number"], r["step"]) for r in lab.runs] == [(1, 4), (2, 4)]
    [(label, history)] = lab._earlier_runs()
    assert label == f"run 1: temperature={lab.runs[0]['settings']['temperature']:.3g}" and history[-1]["step"] == 4
    table = lab._widgets["runs"].value
    assert ">temperature</th>" in table and ">lr</th>" not in table  # only what differs
    assert table.count("<tr>") == 3 and "0.9" in table
    for run in lab.runs:  # a kept run's scores are its last evaluation's
        last = [r for r in run["history"] if "knn_acc" in r][-1]
        assert last["step"] == run["step"] == 4 and (run["knn"], run["rankme"]) == (last["knn_acc"], last["rankme"])
        # four SimCLR steps from a random initialisation: the embeddings still spread (RankMe above the collapse
        # threshold of 3), so neither run is collapsed, and the current one says so from its own embeddings
        assert run["rankme"] > 3 and run["collapsed"] is False
    assert collapse.is_collapsed(evaluate.collapse_report(lab._embeddings())) is lab.runs[-1]["collapsed"]
    knn_axis = lab.figure().axes[1]
    assert [line.get_label() for line in knn_axis.get_lines()] == [
        label, "this run: the class", "shape colour (a nuisance)", "background colour (a nuisance)",
        "position (a nuisance)", "size (a nuisance)"]
    lab._widgets["clear"].click()
    assert lab.runs == [] and lab._widgets["runs"].value == "" and lab._widgets["clear"].disabled


def test_the_lab_measures_the_nuisance_next_to_the_class():
    lab = tiny_lab(steps=4, chunk=2)
    lab.widget()
    lab.run()
    assert [r["step"] for r in lab.nuisance] == [0, 2, 4]  # at every evaluation, the step-0 baseline included
    accuracy = lab.nuisance[-1]["fg_hue_bin_knn_acc"]
    assert lab.runs[-1]["nuisance"]["shape colour"] == accuracy  # and the accuracy is recomputed below
    assert set(lab.runs[-1]["nuisance"]) == {"shape colour", "background colour", "position", "size"}
    assert f"(nuisances: shape colour {accuracy:.3f}, background colour" in lab._widgets["status"].value
    assert ">kNN: shape colour</th>" in lab._widgets["runs"].value
    bank = lab.trainer.config.eval_bank
    train_z = evaluate.embed(lab.trainer.model.backbone, lab.data.train_x[:bank])
    test_z = evaluate.embed(lab.trainer.model.backbone, lab.data.test_x)
    assert accuracy == pytest.approx(evaluate.knn_accuracy(train_z, lab.data.train_factors["fg_hue_bin"][:bank], test_z,
                                                            lab.data.test_factors["fg_hue_bin"]))


def test_compare_trains_a_second_run_and_refuses_unknown_or_out_of_range_controls(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    lab = tiny_lab(steps=4, chunk=2)
    lab.run()
    lab.compare(gray_p=0.0)
    assert [r["settings"]["gray_p"] for r in lab.runs] == [lab.base_config.augment.gray_p, 0.0]
    assert shown[0].data[:4] == b"\x89PNG" and ">gray_p</th>" in shown[1].data
    with pytest.raises(ConfigError, match="no control 'temprature'"):
        lab.compare(temprature=0.5)
    with pytest.raises(ConfigError, match="outside the lab's range"):
        lab.compare(gray_p=2.0)
    with pytest.raises(ConfigError, match="outside the lab's range"):
        lab.compare(lr=1e3)


def test_autorun_defaults_to_the_quick_switch(monkeypatch):
    monkeypatch.setenv("COOKBOOK_QUICK", "1")
    assert Lab("simclr", steps=2, chunk=2, **TINY).autorun
    monkeypatch.setenv("COOKBOOK_QUICK", "0")
    assert not Lab("simclr", steps=2, chunk=2, **TINY).autorun


def test_unknown_recipe_is_refused_with_the_list():
    with pytest.raises(ValueError, match="unknown recipe 'simclear'.*simclr"):
        Lab("simclear")


# ----------------------------------------------------------------------------- exercise checkers

def test_nt_xent_checker_accepts_the_recipe_and_names_common_mistakes():
    import torch.nn.functional as F

    assert checks.check_nt_xent(simclr.nt_xent_loss)

    def diagonal_kept(z1, z2, t):
        z = F.normalize(torch.cat([z1, z2]), dim=1)
        n = len(z1)
        return F.cross_entropy(z @ z.T / t, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))

    def not_normalised(z1, z2, t):
        z = torch.cat([z1, z2])
        n = len(z1)
        logits = (z @ z.T / t).fill_diagonal_(float("-inf"))
        return F.cross_entropy(logits, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))

    for wrong, words in ((diagonal_kept, "diagonal"), (not_normalised, "normalised"),
                         (lambda z1, z2, t: None, "return"), (lambda z1, z2, t: 1 / 0, "ZeroDivisionError")):
        feedback = checks.check_nt_xent(wrong)
        assert not feedback and words in feedback.message


def test_rankme_checker_accepts_the_library_and_names_common_mistakes():
    assert checks.check_rankme(evaluate.rankme)

    def no_exp(z):
        s = torch.linalg.svdvals(z)
        p = s / s.sum()
        return -(p * p.log()).sum()

    def squared(z):
        s = torch.linalg.svdvals(z) ** 2
        p = s / s.sum()
        return torch.exp(-(p * p.log()).sum())

    assert "exponential" in checks.check_rankme(no_exp).message
    assert "squared" in checks.check_rankme(squared).message
    assert "rank" in checks.check_rankme(lambda z: float(torch.linalg.matrix_rank(z))).message


def test_choice_checker_explains_each_wrong_option():
    explanations = {"a": "because A", "b": "right because B"}
    assert checks.check_choice(" B ", "b", explanations)
    assert checks.check_choice("a", "b", explanations).message == "because A"
    assert "not one of the options" in checks.check_choice("z", "b", explanations).message


@pytest.mark.parametrize("name", __import__("cookbook.registry", fromlist=["names"]).names())
def test_every_registered_recipe_runs_in_the_lab(name):
    # 32 images: W-MSE whitens sub-batches of 32 (its quick setting), every other recipe takes any batch.
    lab = Lab(name, steps=2, chunk=2, autorun=False, budget="quick", n_train=64, n_test=32, batch_size=32, width=4)
    lab.widget()
    for control, slider in lab._widgets["recipe"].items():
        # Integer settings (prototypes, crops, block counts) get integer sliders, so the model can be built.
        assert isinstance(slider.value, int) == isinstance(getattr(lab.base_config, control), int), control
    lab.run()
    assert lab.done and not lab.error and "knn_acc" in lab.metrics() and lab.metrics()["step"] == 2


def test_on_off_safeguards_are_checkboxes_that_reach_the_config():
    lab = Lab("byol", steps=2, chunk=2, autorun=False, budget="quick", n_train=64, n_test=32, batch_size=16, width=4)
    lab.widget()
    predictor = lab._widgets["recipe"]["predictor"]
    assert type(predictor).__name__ == "Checkbox" and predictor.value is True
    predictor.value = False
    assert lab.config().predictor is False and lab.config().stop_gradient is True
    lab.reset()
    assert isinstance(lab.trainer.model.predictor, torch.nn.Identity)  # the model was rebuilt without one


def test_the_lab_probes_a_projector_layer_chosen_at_start_or_from_its_dropdown():
    with pytest.raises(ConfigError,
                       match="layer='projector 9': simclr can be probed at 'backbone', 'projector 1', 'projector 2'"):
        tiny_lab(steps=4, chunk=2, layer="projector 9")
    lab = tiny_lab(steps=4, chunk=2, layer="projector 2")
    lab.widget()
    assert lab._widgets["layer"].options == ("backbone", "projector 1", "projector 2")
    lab.reset()
    lab.run_chunk()
    record = lab.nuisance[-1]
    assert record["layer"] == "projector 2" and "fg_hue_bin_knn_acc" in record
    # the class kNN and RankMe of the projector's output (not the backbone's), with the lab's memory bank
    bank, model = lab.trainer.config.eval_bank, lab.trainer.model
    train_z = probes.layer_features(model, lab.data.train_x[:bank])["projector 2"]
    test_z = probes.layer_features(model, lab.data.test_x)["projector 2"]
    assert record["layer_knn"] == pytest.approx(evaluate.knn_accuracy(train_z, lab.data.train_y[:bank], test_z,
                                                                      lab.data.test_y))
    assert record["layer_rankme"] == pytest.approx(evaluate.rankme(test_z))
    assert f"kNN at projector 2 {record['layer_knn']:.3f} (nuisances at projector 2: shape colour" in lab.summary()
    lab._widgets["layer"].value = "backbone"  # from the next evaluation on
    lab.run_chunk()
    assert "layer" not in lab.nuisance[-1]
    labels = [line.get_label() for line in lab.figure().axes[1].get_lines()]
    assert "kNN at projector 2: the class" in labels and "shape colour (a nuisance)" in labels


def test_the_lab_reads_rankme_against_knn_over_the_run():
    lab = tiny_lab(steps=8, chunk=2)
    assert lab.rankme_vs_knn()["spearman"] is None  # nothing evaluated yet
    lab.widget()
    lab.start()
    agreement = lab.rankme_vs_knn()
    assert agreement["steps"] == [0, 2, 4, 6, 8] and len(agreement["rankme"]) == len(agreement["knn"]) == 5
    from cookbook.book.selection import spearman

    try:
        expected = spearman(agreement["rankme"], agreement["knn"])
    except ValueError:  # a constant kNN over a tiny run has no rank correlation
        expected = None
    assert agreement["spearman"] == expected
    if expected is not None:
        assert f"Spearman {expected:+.2f}" in lab.summary()


# ----------------------------------------------------------------------------- committed lab runs

@pytest.fixture
def labs(tmp_path, monkeypatch):
    """An empty folder of committed lab runs in place of the package's."""
    monkeypatch.setattr(lab_runs, "LABS", tmp_path / "labs")
    return tmp_path / "labs"


@pytest.fixture
def lab_script(repo_root, monkeypatch):
    monkeypatch.syspath_prepend(str(repo_root / "benchmarks"))
    import lab_runs as script

    return script


def commit_tiny(script, monkeypatch, **lab) -> dict:
    """Train and commit a tiny lab run with benchmarks/lab_runs.py; its record."""
    declared = {"chapter": "00_test", "recipe": "simclr", "lab": {"steps": 8, "chunk": 2, **TINY, **lab}}
    declared["lab"].pop("budget")
    monkeypatch.setattr(script, "LAB_RUNS", {"tiny": declared})
    assert script.main(["tiny", "--threads", "1"]) == 0
    return lab_runs.committed()["tiny"]


def test_an_unwatched_lab_draws_the_committed_run_of_its_settings_and_start_trains_live(
        labs, lab_script, monkeypatch):
    record = commit_tiny(lab_script, monkeypatch)
    assert {p.name for p in (labs / "tiny").iterdir()} == {"run.json", "model.pt"}  # no temporary file left
    assert record["steps"] == 8 and record["raw_pixel_knn_acc"] == record["raw_pixel"]["knn_acc"]
    assert record["training_digest"] == lab_runs.training_digest(simclr) and record["threads"] == 1
    assert lab_script.status("tiny") == "current"
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    lab = tiny_lab(autorun=True)
    started = time.perf_counter()
    lab.show()
    assert lab.committed["name"] == "tiny" and lab.trainer.step == 8 and time.perf_counter() - started < 20
    assert lab.history == record["history"] and lab.nuisance == record["nuisance"]
    note = lab._widgets["note"].value
    assert "committed 8-step run" in note and "lab_runs.py tiny" in note and record["machine"] in note
    assert lab._widgets["status"].value.startswith("finished (the book's committed run): step 8/8")
    assert lab.settings() == record["settings"]  # the controls show the run drawn under them
    assert lab.runs[-1]["committed"] == "tiny" and shown[-1].data[:4] == b"\x89PNG"
    # The model holds the kept weights (float16 in the package): its kNN is the run's, to rounding.
    c = lab.trainer.config
    again = evaluate.bank_knn_scores(lab.trainer.model.backbone, lab.data, c.eval_bank, c.knn_k, c.knn_temperature)
    assert again["knn_acc"] == pytest.approx(record["knn_acc"], abs=0.02)
    lab.start()  # no event loop here: trains synchronously, a fresh run of the same settings
    assert lab.committed is None and lab.done and [r["number"] for r in lab.runs] == [1, 2]
    assert "final frame" in lab.static_note() and "committed" not in lab.static_note()


def test_a_committed_run_of_other_settings_or_older_code_is_never_served(labs, lab_script, monkeypatch):
    commit_tiny(lab_script, monkeypatch)
    assert lab_runs.find(simclr, tiny_lab().config()) is not None
    assert lab_runs.find(simclr, tiny_lab(temperature=0.7).config()) is None
    assert lab_runs.find(simclr, tiny_lab().config(), layer="projector 2") is None
    lab = tiny_lab(jitter_strength=0.0)  # a view slider's name sets the views
    assert lab.base_config.augment.jitter_strength == 0.0 and lab_runs.find(simclr, lab.config()) is None
    monkeypatch.setattr(lab_runs, "training_digest", lambda recipe: "the loss was edited since")
    assert lab_runs.find(simclr, tiny_lab().config()) is None and lab_script.status("tiny") == "stale"
    monkeypatch.setattr("IPython.display.display", lambda *objs: None)
    lab = tiny_lab(autorun=True)
    lab.show()  # a stale run is trained instead, and the note says so
    assert lab.committed is None and lab.done and "final frame of a 8-step run" in lab._widgets["note"].value


def test_a_damaged_committed_run_is_named_with_the_command_that_trains_it(labs, lab_script, monkeypatch):
    record = commit_tiny(lab_script, monkeypatch)
    (labs / "tiny" / "model.pt").write_bytes(b"not a checkpoint")
    lab = tiny_lab()
    with pytest.raises(ConfigError, match="model.pt is damaged .*python benchmarks/lab_runs.py tiny"):
        lab_runs.load_weights(record, prepare(simclr, lab.config(), lab.data).model)


def test_compare_in_an_unwatched_lab_leaves_the_panel_showing_the_run_drawn_under_it(labs, lab_script, monkeypatch):
    commit_tiny(lab_script, monkeypatch)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    lab = tiny_lab(autorun=True)
    lab.show()
    before = lab._panel_state()
    lab.compare(gray_p=0.0)  # no committed run of these settings: trained here
    assert [r["settings"]["gray_p"] for r in lab.runs] == [lab.base_config.augment.gray_p, 0.0]
    assert lab._panel_state() == before  # the static page's panel still describes the first run
    assert "run 2: finished: step 8/8" in shown[-1].data and ">gray_p</th>" in shown[-1].data


def test_no_legend_sits_over_the_dashboards_knn_curves(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda *objs: None)
    lab = tiny_lab(steps=4, chunk=2)
    lab.widget()
    lab.run()
    lab.compare(gray_p=0.0)  # an earlier run, nuisances: the kNN panel's fullest legend
    assert lab.figure().axes[1].get_legend() is None


def test_the_books_lab_runs_were_trained_by_the_current_code(lab_script):
    """The chapters' labs draw these runs: a change to the code that trains one must come with it trained again."""
    kept = lab_runs.committed()
    assert kept, f"no committed lab run in {lab_runs.LABS}"
    stale = [name for name, record in kept.items() if not lab_runs.is_current(record, registry.get(record["recipe"]))]
    assert not stale, f"run again: {'; '.join(f'python benchmarks/lab_runs.py {name}' for name in stale)}"
    assert set(kept) == set(lab_script.LAB_RUNS), "a committed run no declaration trains, or one never trained"


def test_every_lab_frame_of_the_book_is_a_committed_run_that_learned_or_a_named_failure(repo_root, monkeypatch):
    """Issues 26 and 27: in the static book every lab frame (chapters 1-15; chapter 16 has no lab) ends at least
    10 points above raw pixels' kNN on its data unless its chapter names the failure it shows, and no two
    chapters show the same frame."""
    monkeypatch.syspath_prepend(str(repo_root / "benchmarks"))
    import lab_frames

    frames = lab_frames.chapter_labs((1, 16))
    assert {f["chapter"][:2] for f in frames} == {f"{n:02d}" for n in range(1, 16)}
    shown_by = {}
    for frame in frames:
        lab = lab_frames.build(frame)
        record = lab_runs.find(lab.recipe, lab.config(), lab.layer)
        assert record is not None, f"{frame['chapter']}: no committed run of {frame}: benchmarks/lab_runs.py trains it"
        assert lab.settings() == record["settings"]
        points = 100 * (record["knn_acc"] - record["raw_pixel_knn_acc"])
        declared = lab_frames.LAB_RUNS[record["name"]]  # the declaration's word, as lab_frames prints it
        assert points >= lab_frames.BAR or declared.get("failure"), f"{record['name']} at {points:+.1f} points"
        if declared.get("failure"):  # the failure the chapter names is the one the frame shows
            assert points < 0, f"{record['name']} is declared a failure, yet beats raw pixels by {points:+.1f} points"
            assert collapse.kind(record["embedding"]) == declared.get("collapse"), record["name"]
        shown_by.setdefault(record["name"], set()).add(frame["chapter"])
    assert all(len(chapters) == 1 for chapters in shown_by.values()), shown_by


def test_the_committed_runs_answer_chapter_1s_colour_exercise_as_its_solution_does():
    """ex-colour's solution: without colour jitter and grayscale the shape's kNN falls and its colour's rises."""
    kept = lab_runs.committed()
    default, kept_colours = kept["simclr"], kept["simclr-no-colour-change"]
    assert kept_colours["knn_acc"] < default["knn_acc"]
    assert kept_colours["nuisance"][-1]["fg_hue_bin_knn_acc"] > default["nuisance"][-1]["fg_hue_bin_knn_acc"]
