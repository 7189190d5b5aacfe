"""Every exercise of the book, read from the chapters' MyST sources: each reference solution passes its
checker and each student's cell as given does not; a multiple-choice exercise's key sits in
``cookbook.book.checks`` (not in the student's cell), has the exercise's options, and agrees with its
solution; where a key or a solution speaks of the book's own sweeps, the sweeps say so; and each
chapter numbers its own exercises (book/_ext/exercise_numbers.py)."""
from __future__ import annotations

import ast
import importlib.util
import math
import re
import statistics
from pathlib import Path
from types import SimpleNamespace

import jupytext
import pytest
import yaml

from cookbook.book import checks, report, sweeps
from cookbook.book.checks.answers import KEYS

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
CHECK_CALL = re.compile(r"checks\.check_\w+\(")


CODE = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```$", flags=re.S | re.M)


def exercises(chapter: Path) -> list[dict]:
    """The chapter's exercises in order, from its MyST source: label, question (the directive's text), the
    student's code cells (between the question and the solution) and the solution's text and code cells."""
    text, found = chapter.read_text(encoding="utf-8"), []
    for match in re.finditer(r"^:::\{exercise\}\n:label: (\S+)\n(.*?)^:::$(.*?)^:::\{solution-start\} \1\n(.*?)"
                             r"^:::\{solution-end\}", text, flags=re.S | re.M):
        label, question, student, solution = match.groups()
        found.append({"label": label, "question": question, "student": CODE.findall(student),
                      "solution_text": CODE.sub("", solution), "solution": CODE.findall(solution),
                      "chapter": chapter.stem})
    assert len(found) == text.count(":::{exercise}"), f"{chapter.name}: an exercise without its solution"
    return found


EXERCISES = [exercise for chapter in CHAPTERS for exercise in exercises(chapter)]
CHOICE = [e for e in EXERCISES if any("check_answer" in s for s in e["student"])]
CODING = [e for e in EXERCISES if e not in CHOICE]


def chapter_imports(chapter: str) -> dict:
    """A namespace holding every import of the chapter's code cells, as the chapter has them."""
    namespace: dict = {}
    for cell in jupytext.read(ROOT / "book" / f"{chapter}.md").cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # a cell with IPython magics (the Colab install cell) imports nothing we need
            continue
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        exec(compile(ast.Module(imports, type_ignores=[]), chapter, "exec"), namespace)
    return namespace


def run_checks(chapter: str, sources: list[str]) -> list:
    """Define the functions of ``sources`` (code cells) and return what each checker call in them returns.
    Only the definitions and the checker calls run: the rest of a cell may need the chapter's state."""
    namespace = chapter_imports(chapter)
    results = []
    for source in sources:
        tree = ast.parse(source)
        definitions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.Assign))
                       and not (isinstance(node, ast.Assign) and not isinstance(node.value, ast.Constant))]
        exec(compile(ast.Module(definitions, type_ignores=[]), chapter, "exec"), namespace)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and CHECK_CALL.match(ast.unparse(node)):
                results.append((ast.unparse(node), eval(compile(ast.Expression(node), chapter, "eval"), namespace)))
    return results


def test_the_book_has_its_exercises():
    assert len(EXERCISES) >= 45 and len(CHOICE) == len(KEYS) and CODING


@pytest.mark.parametrize("exercise", CODING, ids=lambda e: e["label"])
def test_each_reference_solution_passes_its_check_and_the_students_cell_does_not(exercise):
    passed = run_checks(exercise["chapter"], exercise["solution"])
    assert passed, f"{exercise['label']}: the solution calls no checker"
    for call, feedback in passed:
        assert feedback, f"{exercise['label']}: the reference solution fails {call}: {feedback}"
    as_given = run_checks(exercise["chapter"], exercise["student"])
    assert as_given and not any(feedback for _, feedback in as_given), \
        f"{exercise['label']}: the student's cell passes its check before anything is written"


@pytest.mark.parametrize("exercise", CHOICE, ids=lambda e: e["label"])
def test_each_multiple_choice_key_matches_its_question_and_solution(exercise):
    label, key = exercise["label"], KEYS.get(exercise["label"])
    assert key, f"{label}: checks.check_answer has no key for it"
    assert any(f'checks.check_answer("{label}", answer)' in s for s in exercise["student"]), \
        f"{label}: the student's cell must check the answer by this exercise's own label"
    options = re.findall(r"\*\*\(([a-z])\)\*\*", exercise["question"])
    assert options == sorted(key.why), f"{label}: the question offers {options}, the key explains {sorted(key.why)}"
    assert key.correct in options
    told = re.search(r"\*\*\(([a-z])\)", exercise["solution_text"])  # the solution's first bold letter: its answer
    assert told and told[1] == key.correct, f"{label}: the solution answers {told and told[1]}, the key {key.correct}"
    assert "put your letter in `answer`" in exercise["question"].lower(), f"{label}: say how to answer"
    assert not checks.check_answer(label, "?")
    assert checks.check_answer(label, f" {key.correct.upper()} ")
    for letter, why in key.why.items():
        feedback = checks.check_answer(label, letter)
        assert bool(feedback) == (letter == key.correct) and feedback.message == why


def test_no_right_letter_is_in_a_chapter_and_every_key_is_used():
    for chapter in CHAPTERS:
        assert "check_choice" not in chapter.read_text(), f"{chapter.name}: a check_choice call shows the right letter"
    assert sorted(KEYS) == sorted(e["label"] for e in CHOICE)
    with pytest.raises(KeyError, match="no multiple-choice exercise"):
        checks.check_answer("ex-no-such-exercise", "a")


# ----------------------------------------------------------------------------- keys and solutions about the sweeps

def rows(sweep: dict, **settings) -> list[dict]:
    """Each run (every seed) of the sweep whose settings include ``settings``: its measures, and its
    untrained network's under "untrained"."""
    found = [{**sweeps.measures(p), "untrained": sweeps.measures({**p, "after": p["before"], "history": []})}
             for p in sweep["points"] if all(p["settings"].get(k) == v for k, v in settings.items())]
    assert found, f"{sweep['sweep']}: no run with {settings}"
    return found


def test_ex_teacher_temperature_the_entropy_per_image_rises_with_the_teacher_temperature():
    dino = report.load_sweep("ema-dino")
    entropy = {p["settings"]["teacher_temp"]: p["after"]["teacher_entropy"] for p in dino["points"]
               if "teacher_temp" in p["settings"]}
    ordered = [entropy[t] for t in sorted(entropy)]
    assert ordered == sorted(ordered) and ordered[-1] <= math.log(dino["base_config"]["out_dim"]) + 1e-6, entropy


def test_ex_interplay_the_mlp_on_pixels_keeps_the_background_colour_best():
    interplay = report.load_sweep("interplay-simclr")
    chance = sweeps.references(interplay)["chance"]
    for run in rows(interplay, **{"backbone": "pixel_mlp", "augment.jitter_p": 0.8}):
        above = {name: run[name] / chance[name] for name in ("kNN", "position", "background colour")}
        assert max(above, key=above.get) == "background colour", above
        assert run["kNN"] - run["untrained"]["kNN"] < 0.02, "key (a): the MLP's class kNN gains nothing"
        assert run["position"] < 1.5 * chance["position"], "key (b): the MLP's position kNN is about chance"


def test_ex_colour_shortcut_without_grayscale_the_background_colour_is_kept_and_the_class_is_not():
    ablation = report.load_sweep("augment-ablation-simclr")
    chance = sweeps.references(ablation)["chance"]
    every = [sweeps.measures(p) for p in ablation["points"] if not p["settings"]]  # every augmentation on
    for run in rows(ablation, **{"augment.gray_p": 0.0}):
        assert run["background colour"] > 3 * chance["background colour"]
        assert run["background colour"] > max(r["background colour"] for r in every)
        assert run["kNN"] - run["untrained"]["kNN"] < 0.05


def test_ex_no_projector_vicreg_loses_rank_without_a_projector_and_simclr_does_not():
    def rankme(recipe, depth):
        return statistics.fmean(r["RankMe"] for r in rows(report.load_sweep(f"projector-{recipe}"),
                                                           proj_depth=depth))

    with_projector = {recipe: [rankme(recipe, d) for d in (1, 2, 3)] for recipe in ("vicreg", "simclr")}
    assert rankme("vicreg", 0) < 0.75 * min(with_projector["vicreg"])
    assert rankme("simclr", 0) > 0.8 * statistics.median(with_projector["simclr"])


def test_ex_lambda_zero_the_loss_reaches_zero_and_the_features_gain_nothing():
    for run in rows(report.load_sweep("lejepa-lambda"), lambd=0.0):
        assert run["loss"] < 1e-3 and abs(run["kNN"] - run["untrained"]["kNN"]) < 0.03


def test_ex_moco_zero_the_sweeps_queue_holds_only_a_few_batches():
    config = report.load_sweep("momentum-moco")["base_config"]
    assert config["queue_size"] // config["batch_size"] <= 10


def test_ex_lars_rate_the_feedback_quotes_the_optimizer_sweeps_adamw_rates():
    sweep = report.load_sweep("optimizer-simclr")
    rates = sorted({p["settings"]["lr"] for p in sweep["points"] if p["settings"]["optimizer"] == "adamw"})
    assert rates == [0.004, 0.016, 0.064] and sweep["base_config"]["batch_size"] == 128  # (b) and (c) name them
    assert 2.5 < 0.2 / max(rates) < 3.5  # (a): 0.2 is about three times the largest
    assert rates[0] < 0.2 * 256 / 4096 < rates[-1]  # (c): 0.0125 falls inside the range, by accident
    assert rates[0] * 256 / 128 > 5e-4  # (b): above the Cookbook's AdamW base rates per 256 images


def test_ex_diet_cost_the_sweep_has_both_sizes_at_the_same_steps():
    sizes = report.load_sweep("diet-size")
    runs = {p["settings"].get("n_train"): p for p in sizes["points"] if "steps" not in p["settings"]}
    assert {2000, 8000} <= set(runs)


# ----------------------------------------------------------------------------- numbered per chapter

def load_extension():
    spec = importlib.util.spec_from_file_location("exercise_numbers", ROOT / "book/_ext/exercise_numbers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_chapter_numbers_its_own_exercises():
    env = SimpleNamespace(toc_fignumbers={
        "book/intro": {},
        "book/01_what_is_ssl": {"exercise": {"ex-b": (2,), "ex-a": (1,)}, "figure": {"fig": (1,)}},
        "book/02_pretext_tasks": {"exercise": {"ex-c": (3,), "ex-d": (4,), "ex-e": (5,)}},
        "book/16_comparison": {"figure": {"fig": (2,)}},
    })
    assert load_extension().number_per_chapter(None, env) == []
    numbers = env.toc_fignumbers
    assert numbers["book/01_what_is_ssl"] == {"exercise": {"ex-a": (1, 1), "ex-b": (1, 2)}, "figure": {"fig": (1,)}}
    assert numbers["book/02_pretext_tasks"]["exercise"] == {"ex-c": (2, 1), "ex-d": (2, 2), "ex-e": (2, 3)}
    assert numbers["book/16_comparison"] == {"figure": {"fig": (2,)}}


def test_the_book_build_enables_the_numbering():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert "exercise_numbers" in config["config"]["extensions"]  # this list replaces Jupyter Book's
    assert (ROOT / config["local_extensions"]["exercise_numbers"] / "exercise_numbers.py").exists()
    text = "\n".join(chapter.read_text() for chapter in CHAPTERS)
    assert not re.search(r"\bExercises? \d", text), "a chapter names an exercise by a number: use {ref}`label`"
