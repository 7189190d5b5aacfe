"""The package as Colab gets it: built into a wheel, installed non-editable, with nothing of the
repository around it, and the chapters that read packaged data executed against that install.

In Colab a chapter runs ``pip install "ssl-cookbook @ git+..."`` and the notebook is opened on its
own: ``benchmarks/``, ``book/`` and the rest of the checkout do not exist there. These tests build
a wheel from the files git would clone (tracked and untracked-but-not-ignored: an ignored file is
not in a clone), install it into a temporary folder, and execute chapters 7 and 8, which read the
benchmark runs of ``cookbook.report.RESULTS``, from an empty folder with only that install on
``PYTHONPATH``. Slow (a wheel build and two chapters): marked ``slow``, and part of the normal run.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGED_RUNS = ROOT / "cookbook" / "results" / "runs"
LABELS = ("quick", "digits-quick")  # the benchmarks chapters 7 and 8 read
CHAPTERS = ("07_unified_view", "08_comparison")
KEPT_FILES = {"metrics.json", "timing.json"}

pytestmark = pytest.mark.slow


def source_files() -> list[str]:
    """The repository's files as a clone of it would hold them (plus untracked files not yet
    committed), so that a file .gitignore hides cannot make the wheel look complete. Outside a git
    checkout: pyproject.toml, README.md, LICENSE and the packages it lists."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout.decode()
        return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        tomllib = pytest.importorskip("tomllib")
        packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
        files = [name for name in ("pyproject.toml", "README.md", "LICENSE") if (ROOT / name).is_file()]
        for top in sorted({package.split(".")[0] for package in packages}):
            files += [path.relative_to(ROOT).as_posix() for path in (ROOT / top).rglob("*")
                      if path.is_file() and "__pycache__" not in path.parts]
        return files


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (f"{' '.join(command)} failed ({result.returncode}):\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result


def packaged_runs() -> set[str]:
    return {p.relative_to(PACKAGED_RUNS).as_posix() for p in PACKAGED_RUNS.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """A wheel of the repository (built once for this module) and a folder it is installed into."""
    tmp = tmp_path_factory.mktemp("installed")
    # Build from a copy: an in-tree build writes build/ and *.egg-info into the repository.
    source = tmp / "source"
    for name in source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    wheels = tmp / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "-w", str(wheels), str(source)], env=env, cwd=tmp)
    [wheel] = wheels.glob("ssl_cookbook-*.whl")
    site = tmp / "site"
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target", str(site),
         str(wheel)], env=env, cwd=tmp)
    return {"wheel": wheel, "site": site.resolve()}


def colab_env(site: Path) -> dict[str, str]:
    """The environment of a notebook that has only the installed package: PYTHONPATH points at it.
    The venv's editable install of the repository is a meta-path finder appended after the path
    finder, so PYTHONPATH wins over it; the tests below check that rather than assume it."""
    return {**os.environ, "PYTHONPATH": str(site), "COOKBOOK_QUICK": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "JUPYTER_PLATFORM_DIRS": "1"}


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
    assert not [n for n in names if n.endswith((".png", ".pt", ".pth", ".ckpt", ".npz"))]


def test_an_empty_folder_imports_the_installed_package_not_the_repository(installed, tmp_path):
    site = installed["site"]
    probe = ("import json, cookbook, recipes\nfrom cookbook import report\n"
             "print(json.dumps({'cookbook': cookbook.__file__, 'recipes': recipes.__file__, "
             "'results': str(report.RESULTS), 'runs': sorted(str(p) for p in report.RESULTS.rglob('metrics.json')), "
             "'quick_rows': len(report.load_results('quick')), "
             "'digits_rows': len(report.load_results('digits-quick'))}))")
    found = json.loads(run([sys.executable, "-c", probe], env=colab_env(site), cwd=tmp_path).stdout)
    for key in ("cookbook", "recipes", "results"):
        assert Path(found[key]).resolve().is_relative_to(site), f"{key} resolved to {found[key]}, not into {site}"
    expected = sorted(name for name in packaged_runs() if name.endswith("metrics.json"))
    assert [Path(p).relative_to(found["results"]).as_posix() for p in found["runs"]] == expected
    assert found["quick_rows"] and found["digits_rows"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_on_the_installed_package_alone(installed, chapter, tmp_path):
    site = installed["site"]
    folder = tmp_path / "colab"  # only the notebook: no repository around it
    folder.mkdir()
    notebook = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text())
    # A last cell: everything of the package the chapter imported came from the install.
    check = ("import sys as _sys\nfrom pathlib import Path as _Path\n"
             f"_site = _Path({str(site)!r})\n"
             "_outside = {_n: _m.__file__ for _n, _m in list(_sys.modules.items())\n"
             "            if _n.split('.')[0] in ('cookbook', 'recipes') and getattr(_m, '__file__', None)\n"
             "            and not _Path(_m.__file__).resolve().is_relative_to(_site)}\n"
             "assert not _outside, f'imported from outside the install: {_outside}'\n"
             "assert 'cookbook' in _sys.modules")
    notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": "installed-package-check",
                              "metadata": {}, "outputs": [], "source": check})
    (folder / f"{chapter}.ipynb").write_text(json.dumps(notebook))
    # The timeouts only catch a hang: on a shared two-core machine a training cell of chapter 7 has
    # taken over ten minutes.
    started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.timeout=1200", "--output-dir", str(tmp_path / "out"), f"{chapter}.ipynb"],
        env=colab_env(site), cwd=folder, timeout=2400)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{chapter}: executed on the installed package in {time.perf_counter() - started:.1f} s "
          f"({used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime:.0f} s of CPU)")
