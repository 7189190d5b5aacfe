"""Execute every chapter the way Colab runs it, and time each one.

    python benchmarks/colab_chapters.py [--chapters 07_unified_view,16_comparison] [--python PYTHON]

In Colab a chapter's first cell installs the package from git (``pip install "ssl-cookbook @
git+..."``, not editable) and the notebook is opened on its own: ``benchmarks/``, ``book/`` and the
rest of the checkout are not there. This script builds a wheel from the files a clone would hold,
installs it into a temporary folder, and executes each chapter's notebook alone in an empty folder
with only that install on ``PYTHONPATH`` (quick budget). A last cell added to each notebook fails
if anything of ``cookbook`` or ``recipes`` was imported from outside the install.

``--python`` picks the interpreter whose site-packages provide the third-party stack (torch,
ipywidgets, IPython, ipykernel, nbconvert): by default this one; point it at a virtual environment
that pins Colab's versions to try those. The table goes to stdout and to
``benchmarks/results/colab-chapters.md``. ``tests/test_installed_package.py`` uses the same build
and execution for chapters 7 and 8, which read packaged data.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
RESULTS = ROOT / "benchmarks" / "results" / "colab-chapters.md"
sys.path.insert(0, str(ROOT / "benchmarks"))
from recipes_table import machine  # noqa: E402  (one description of the machine for every benchmark)

# Appended to each notebook: everything of the package the chapter imported came from the install.
INSTALL_CHECK = ("import sys as _sys\nfrom pathlib import Path as _Path\n"
                 "_site = _Path({site!r})\n"
                 "_outside = {{_n: _m.__file__ for _n, _m in list(_sys.modules.items())\n"
                 "            if _n.split('.')[0] in ('cookbook', 'recipes') and getattr(_m, '__file__', None)\n"
                 "            and not _Path(_m.__file__).resolve().is_relative_to(_site)}}\n"
                 "assert not _outside, f'imported from outside the install: {{_outside}}'\n"
                 "assert 'cookbook' in _sys.modules")


class StepFailed(RuntimeError):
    """A build, install or notebook execution exited with an error; the message holds its output."""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise StepFailed(f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
                         f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result


def source_files() -> list[str]:
    """The repository's files as a clone would hold them, plus untracked files not yet committed
    (so that a file .gitignore hides cannot make the wheel look complete). Outside a git checkout:
    pyproject.toml, README.md, LICENSE and the packages pyproject lists."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout.decode()
        return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        import tomllib

        packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
        files = [name for name in ("pyproject.toml", "README.md", "LICENSE") if (ROOT / name).is_file()]
        for top in sorted({package.split(".")[0] for package in packages}):
            files += [path.relative_to(ROOT).as_posix() for path in (ROOT / top).rglob("*")
                      if path.is_file() and "__pycache__" not in path.parts]
        return files


def build_and_install(folder: Path, python: str = sys.executable) -> tuple[Path, Path]:
    """A wheel of the repository built in ``folder`` and installed (without dependencies) into
    ``folder/site``: returns ``(wheel, site)``."""
    # Build from a copy: an in-tree build writes build/ and *.egg-info into the repository.
    source = folder / "source"
    for name in source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    wheels = folder / "wheels"
    run([python, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "-w", str(wheels), str(source)], env=env, cwd=folder)
    [wheel] = wheels.glob("ssl_cookbook-*.whl")
    site = folder / "site"
    run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target", str(site), str(wheel)],
        env=env, cwd=folder)
    return wheel, site.resolve()


def install_into(python: str, wheel: Path) -> Path:
    """Install ``wheel`` non-editably into the environment of ``python`` the way a chapter's first
    cell does in Colab: pip resolves the package's dependencies against what is installed there
    (Colab's torch and ipywidgets 7.7.1 must satisfy them as they are). Returns its site-packages."""
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    run([python, "-m", "pip", "uninstall", "--yes", "--quiet", "ssl-cookbook"], env=env)
    run([python, "-m", "pip", "install", "--quiet", str(wheel)], env=env)
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    return Path(site).resolve()


def pinned(requirements: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file: the versions a stack check insists on."""
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = (part.strip() for part in line.split("=="))
            pins[name] = version
    return pins


def colab_env(site: Path) -> dict[str, str]:
    """The environment of a notebook that has only the installed package: PYTHONPATH points at it.
    A venv's editable install of the repository is a meta-path finder appended after the path
    finder, so PYTHONPATH wins over it; the added last cell checks that rather than assume it."""
    return {**os.environ, "PYTHONPATH": str(site), "COOKBOOK_QUICK": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "JUPYTER_PLATFORM_DIRS": "1"}


# Appended too when a stack is pinned: the kernel really runs those versions (a kernelspec found
# elsewhere on the machine would quietly run another Python).
STACK_CHECK = ("import importlib.metadata as _metadata\n"
               "_pins = {pins!r}\n"
               "_wrong = {{_n: _metadata.version(_n) for _n, _v in _pins.items() if _metadata.version(_n) != _v}}\n"
               "assert not _wrong, f'the kernel does not run the pinned stack {{_pins}}: {{_wrong}}'")
CHECK_CELL_ID = "installed-package-check"


def execute_alone(chapter: str, site: Path, folder: Path, python: str = sys.executable,
                  notebook_path: Path | None = None, pins: dict[str, str] | None = None,
                  timeout: int = 1200) -> dict:
    """Execute ``book/<chapter>.ipynb`` (or ``notebook_path``) alone in the empty ``folder`` against
    the install in ``site``, checking the ``pins`` too; returns its wall and CPU seconds and the
    executed notebook (``"notebook"``, the check cell removed). Raises :class:`StepFailed` with the
    output on error."""
    folder.mkdir(parents=True, exist_ok=True)
    notebook = json.loads((notebook_path or BOOK / f"{chapter}.ipynb").read_text())
    check = INSTALL_CHECK.format(site=str(site)) + ("\n" + STACK_CHECK.format(pins=pins) if pins else "")
    notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": CHECK_CELL_ID,
                              "metadata": {}, "outputs": [], "source": check})
    (folder / f"{chapter}.ipynb").write_text(json.dumps(notebook))
    started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    # The timeouts only catch a hang: on a shared two-core machine one cell has taken over ten minutes.
    # The kernel is the interpreter's own (jupyter_client swaps a kernelspec's "python" for it), with
    # its bin/ first on PATH for anything the chapter starts.
    env = {**colab_env(site), "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run([python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", str(folder / "executed"), f"{chapter}.ipynb"],
        env=env, cwd=folder, timeout=2 * timeout)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    executed = folder / "executed" / f"{chapter}.ipynb"
    result = json.loads(executed.read_text())
    result["cells"] = [cell for cell in result["cells"] if cell.get("id") != CHECK_CELL_ID]
    executed.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return {"wall_s": time.perf_counter() - started, "notebook": executed,
            "cpu_s": used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime}


def stack(python: str) -> str:
    probe = ("import importlib.metadata as m, platform\n"
             "names = ('torch', 'ipywidgets', 'ipython', 'ipykernel', 'matplotlib')\n"
             "print(f'Python {platform.python_version()}, ' + ', '.join(f'{n} {m.version(n)}' for n in names))")
    return run([python, "-c", probe]).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", help="comma-separated notebook names (default: every chapter in book/)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the third-party stack")
    args = parser.parse_args(argv)
    available = sorted(p.stem for p in BOOK.glob("[0-9][0-9]_*.ipynb"))
    chapters = args.chapters.split(",") if args.chapters else available
    unknown = [c for c in chapters if c not in available]
    if unknown:
        parser.error(f"no chapter {', '.join(unknown)} in book/; the chapters are {', '.join(available)}")

    lines = ["| chapter | result | wall s | CPU s |", "|---|---|---:|---:|"]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="colab-chapters-") as tmp:
        print("building and installing the wheel ...", flush=True)
        wheel, site = build_and_install(Path(tmp), args.python)
        for chapter in chapters:
            try:
                timing = execute_alone(chapter, site, Path(tmp) / chapter, args.python)
                lines.append(f"| {chapter} | ran | {timing['wall_s']:.1f} | {timing['cpu_s']:.0f} |")
            except (StepFailed, subprocess.TimeoutExpired) as error:
                failures += 1
                print(error, file=sys.stderr)
                lines.append(f"| {chapter} | **failed** | | |")
            print(lines[-1], flush=True)
    header = (f"Chapters executed alone against a non-editable install of {wheel.name} "
              f"(`python benchmarks/colab_chapters.py`), quick budget.\n\n"
              f"Stack: {stack(args.python)}. Machine: {machine()}.\n")
    table = "\n".join(lines)
    print(table)
    if not args.chapters:  # a partial run does not overwrite the full table
        RESULTS.write_text(f"{header}\n{table}\n")
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
