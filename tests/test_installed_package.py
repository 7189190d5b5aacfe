"""The package as Colab gets it: built into a wheel, installed non-editable, with nothing of the
repository around it.

In Colab a chapter runs ``pip install "ssl-cookbook @ git+..."`` and the notebook is opened on its
own: ``benchmarks/``, ``book/`` and the rest of the checkout do not exist there. These tests build
a wheel from the files git would clone (tracked and untracked-but-not-ignored: an ignored file is
not in a clone), install it into a temporary folder, and check what it ships and where an empty
folder imports it from. Every chapter is executed that way, on Colab's pinned stack, by
``make test``'s ``tools/executed_book.py`` (the cell that checks where the package came from is
tested here). Slow (a wheel build): marked ``slow``, and part of the normal run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import colab_chapters  # noqa: E402  (the build and the execution, shared with the benchmark of every chapter)

PACKAGED_RUNS = ROOT / "cookbook" / "results" / "runs"
LABELS = ("quick", "digits-quick")  # the benchmarks chapters 7 and 8 read
KEPT_FILES = {"metrics.json", "timing.json"}

pytestmark = pytest.mark.slow


def packaged_runs() -> set[str]:
    return {p.relative_to(PACKAGED_RUNS).as_posix() for p in PACKAGED_RUNS.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """A wheel of the repository (built once for this module) and a folder it is installed into."""
    wheel, site = colab_chapters.build_and_install(tmp_path_factory.mktemp("installed"))
    return {"wheel": wheel, "site": site}


def test_the_wheel_ships_the_benchmark_runs_and_nothing_else_of_them(installed):
    assert PACKAGED_RUNS.is_dir(), "cookbook/results/runs is missing: benchmarks/recipes_table.py writes it"
    expected = packaged_runs()
    for label in LABELS:
        assert any(name.startswith(f"{label}/") and name.endswith("/metrics.json") for name in expected), \
            f"no {label} run in {PACKAGED_RUNS}"
    assert {name.rsplit("/", 1)[-1] for name in expected} <= KEPT_FILES, \
        f"{PACKAGED_RUNS} holds more than {sorted(KEPT_FILES)}: big files would go into the package"
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = wheel.namelist()
    prefix = "cookbook/results/runs/"
    assert {n[len(prefix):] for n in names if n.startswith(prefix)} == expected, \
        "the wheel's cookbook/results/runs differs from the repository's: see [tool.setuptools.package-data]"
    # The one kind of weights shipped: the committed lab runs' final models (cookbook.book.lab_runs), float16.
    labs = "cookbook/results/labs/"
    assert not [n for n in names if n.endswith((".png", ".pt", ".pth", ".ckpt", ".npz"))
                and not (n.startswith(labs) and n.endswith("/model.pt"))]
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        lab_files = {n[len(labs):]: wheel.getinfo(n).file_size for n in wheel.namelist() if n.startswith(labs)}
    kept = ROOT / "cookbook" / "results" / "labs"
    assert set(lab_files) == {p.relative_to(kept).as_posix() for p in kept.glob("*/*") if p.is_file()}, \
        "the wheel's cookbook/results/labs differs from the repository's: see [tool.setuptools.package-data]"
    # 17 frames (chapters 1-15), the weights in float16: about 13.5 MB. A new frame that pushes past 16 MB
    # should shrink what a lab keeps rather than move this line.
    assert sum(lab_files.values()) < 16e6, "the committed lab runs grew past 16 MB: keep the package small"
    # Chapter 16 reads benchmarks/tune_settings.py's records (cookbook.book.comparison.tuning).
    tuning = ROOT / "cookbook" / "results" / "tuning"
    assert {n for n in names if n.startswith("cookbook/results/tuning/")} == \
        {f"cookbook/results/tuning/{p.name}" for p in tuning.glob("*.json")} != set(), \
        "the wheel's cookbook/results/tuning differs from the repository's: see [tool.setuptools.package-data]"


def test_an_empty_folder_imports_the_installed_package_not_the_repository(installed, tmp_path):
    site = installed["site"]
    probe = ("import json, cookbook, recipes\nfrom cookbook.book import report\n"
             "print(json.dumps({'cookbook': cookbook.__file__, 'recipes': recipes.__file__, "
             "'results': str(report.RESULTS), 'runs': sorted(str(p) for p in report.RESULTS.rglob('metrics.json')), "
             "'quick_rows': len(report.load_results('quick')), "
             "'digits_rows': len(report.load_results('digits-quick'))}))")
    found = json.loads(colab_chapters.run([sys.executable, "-c", probe], env=colab_chapters.colab_env(site),
                                          cwd=tmp_path).stdout)
    for key in ("cookbook", "recipes", "results"):
        assert Path(found[key]).resolve().is_relative_to(site), f"{key} resolved to {found[key]}, not into {site}"
    expected = sorted(name for name in packaged_runs() if name.endswith("metrics.json"))
    assert [Path(p).relative_to(found["results"]).as_posix() for p in found["runs"]] == expected
    assert found["quick_rows"] and found["digits_rows"]


def test_the_install_check_cell_catches_a_module_from_outside_the_install(installed, tmp_path):
    """The last cell execute_alone adds must fail when a module comes from elsewhere, or the
    chapter tests above would prove nothing."""
    cell = colab_chapters.INSTALL_CHECK.format(site=str(installed["site"]))
    outside = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import cookbook\n" + cell
    result = subprocess.run([sys.executable, "-c", outside], capture_output=True, text=True, cwd=tmp_path,
                            env={k: v for k, v in colab_chapters.colab_env(installed["site"]).items()
                                 if k != "PYTHONPATH"})
    assert result.returncode != 0 and "imported from outside the install" in result.stderr


def test_the_stack_check_cell_catches_a_kernel_on_other_versions(tmp_path):
    """make test executes the chapters on Colab's pinned stack; the appended cell must fail when the
    kernel runs other versions (another kernelspec found first), or that run would prove nothing."""
    ok = colab_chapters.STACK_CHECK.format(pins={"pytest": pytest.__version__})
    wrong = colab_chapters.STACK_CHECK.format(pins={"pytest": "0.0.1"})
    assert subprocess.run([sys.executable, "-c", ok], cwd=tmp_path).returncode == 0
    result = subprocess.run([sys.executable, "-c", wrong], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0 and "does not run the pinned stack" in result.stderr


def test_the_colab_stack_pins_what_colab_ships():
    pins = colab_chapters.pinned(ROOT / "tools" / "colab-stack.txt")
    assert pins == {"ipywidgets": "7.7.1", "ipykernel": "6.17.1", "ipython": "7.34.0", "notebook": "6.5.7"}


# Every module of the installed package, imported one by one in a fresh interpreter, then every
# third-party module its source names anywhere (imports inside functions too: seaborn for a heatmap, PIL for
# an image folder): an undeclared dependency fails here with the module that needs it.
IMPORT_EVERY_MODULE = """
import ast, importlib, json, pathlib, pkgutil, sys, cookbook, recipes
names = sorted(m.name for package in (cookbook, recipes)
               for m in pkgutil.walk_packages(package.__path__, package.__name__ + "."))
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as error:
        failed[name] = f"{type(error).__name__}: {error}"
named = set()
for package in (cookbook, recipes):
    for path in pathlib.Path(package.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                named |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                named.add(node.module.split(".")[0])
third_party = sorted(named - set(sys.stdlib_module_names) - {"cookbook", "recipes", "__future__"})
for name in third_party:
    try:
        importlib.import_module(name)
    except Exception as error:
        failed[name] = f"{type(error).__name__}: {error}"
print(json.dumps({"imported": names, "third_party": third_party, "failed": failed, "cookbook": cookbook.__file__}))
"""


def test_the_wheel_with_only_its_declared_dependencies_imports_every_module(installed, tmp_path):
    """A laptop's `pip install` gives the package what pyproject.toml declares and nothing else (Colab
    happens to preinstall more, seaborn among it): a new virtual environment, the wheel installed with
    its dependencies, every module imported from an empty folder."""
    venv = tmp_path / "venv"
    colab_chapters.run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    env.pop("PYTHONPATH", None)
    colab_chapters.run([python, "-m", "pip", "install", "--quiet", str(installed["wheel"])], env=env, cwd=tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    found = json.loads(colab_chapters.run([python, "-c", IMPORT_EVERY_MODULE], env=env, cwd=empty).stdout)
    assert Path(found["cookbook"]).resolve().is_relative_to(venv.resolve())
    assert not found["failed"], f"modules that do not import with only the declared dependencies: {found['failed']}"
    expected = {"cookbook.train", "cookbook.book.guide", "cookbook.book.checks.core", "recipes.dino"}
    assert expected <= set(found["imported"])
    assert len(found["imported"]) >= 50 and {"torch", "seaborn", "PIL", "sklearn"} <= set(found["third_party"])
