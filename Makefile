# `make book`: build the HTML book into _build/html, executing every chapter (quick budget).
# `make test`: ruff and the import contracts, unit tests (jupytext pairs in sync among them), then every chapter notebook executed
#              once on Colab's stack (.venv-colab: ipywidgets 7.7.1, ipykernel 6.17.1, IPython 7.34,
#              the package installed from a wheel, each notebook alone in an empty folder), the -W
#              build of the book from those outputs, and the browser tests of that HTML.
# Both create .venv and install requirements.txt + this package when needed.
# `make student`: student/, every chapter notebook without its solutions, and a zip of them to hand out.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
COLAB_VENV  ?= .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))

.PHONY: install book test lint unit notebooks build-book executed-book sync student clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Colab's stack, for executing the chapters as a student meets them (tools/colab-stack.txt).
colab-stack: $(COLAB_STAMP)

$(COLAB_STAMP): tools/colab-stack.txt
	test -x $(COLAB_VENV)/bin/python || $(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet -r tools/colab-stack.txt
	touch $(COLAB_STAMP)

book: install build-book
	@echo "book: open _build/html/index.html"

# Quick budget: the embedded toy dataset, each chapter well under 90 s on two cores.
# _build is removed first: Jupyter Book skips chapters whose source did not change, even
# when the code they import did.
build-book:
	rm -rf _build
	COOKBOOK_QUICK=1 COOKBOOK_STRICT_CLAIMS=1 $(BIN)/jupyter-book build . -W --keep-going

test: install colab-stack lint unit lab-on-colab-stack executed-book browser

# ruff (pyproject.toml's [tool.ruff]) and the floor plan's import contracts ([tool.importlinter]: the
# engine below the book's tools below the recipes, no cycles).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Each chapter executes once, alone in its folder and kernel, on Colab's stack, two at a time (one per core),
# and the -W build renders those outputs into _build/html (see tools/executed_book.py). A failing chapter
# fails it, and no HTML is built. Each chapter's time on its own: `make book`'s log or
# benchmarks/colab_chapters.py.
executed-book:
	$(BIN)/python tools/executed_book.py --python $(COLAB_VENV)/bin/python --timeout 240 --jobs 2

# On both cores (pytest-xdist): one thread per process (tests/conftest.py sets torch's; OMP_NUM_THREADS the
# notebooks' and subprocesses': two workers of two OpenMP threads each on two cores spin at each other's barriers,
# and a chapter executed inside a test took 186 s instead of 40). --dist loadscope keeps a module's tests on one
# worker, so a module's fixture (test_installed_package's wheel) is built once.
unit:
	OMP_NUM_THREADS=1 COOKBOOK_QUICK=1 $(BIN)/python -m pytest -q -n 2 --dist loadscope --durations=15 --ignore=tests/browser

# The lab's own tests (Start, Stop, Reset, kept runs, the static note) on ipywidgets 7.7.1 and
# ipykernel 6.17.1, the versions Colab ships; `unit` runs them on this venv's ipywidgets 8.
lab-on-colab-stack: $(COLAB_STAMP)
	$(COLAB_VENV)/bin/python -c "import ipywidgets, ipykernel; print('tests/test_lab.py on ipywidgets', ipywidgets.__version__, 'and ipykernel', ipykernel.__version__)"
	OMP_NUM_THREADS=1 COOKBOOK_QUICK=1 $(COLAB_VENV)/bin/python -m pytest -q -n 2 -p no:cacheprovider tests/test_lab.py

# The built HTML offline in Chromium, and the live lab driven in JupyterLab (tests/browser).
browser:
	COOKBOOK_QUICK=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

notebooks:
	COOKBOOK_QUICK=1 COOKBOOK_STRICT_CLAIMS=1 $(BIN)/python -m pytest -q --nbmake --nbmake-timeout=240 --durations=0 -p no:cacheprovider $(NOTEBOOKS)

# Regenerate each chapter's paired, output-free .ipynb from its MyST source.
sync:
	$(BIN)/jupytext --sync book/*.md

# The student edition: every chapter's .ipynb with its exercises and without their solutions
# (tools/student_edition.py), and student/ssl-cookbook-student.zip to hand out.
student: install
	$(BIN)/python tools/student_edition.py --out student

clean:
	rm -rf _build _executed runs .pytest_cache student
