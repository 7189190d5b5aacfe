# `make book`: build the HTML book into _build/html, executing every chapter (quick budget).
# `make test`: unit tests (jupytext pairs in sync among them), then every chapter notebook
#              executed once through nbmake and the -W build of the book from those outputs.
# Both create .venv and install requirements.txt + this package when needed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))

.PHONY: install book test unit notebooks build-book executed-book sync clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: install build-book
	@echo "book: open _build/html/index.html"

# Quick budget: the embedded toy dataset, each chapter well under 90 s on two cores.
# _build is removed first: Jupyter Book skips chapters whose source did not change, even
# when the code they import did.
build-book:
	rm -rf _build
	COOKBOOK_QUICK=1 $(BIN)/jupyter-book build . -W --keep-going

test: install unit executed-book

# Each chapter executes once: nbmake runs the .ipynb (the Colab file) in _executed, and the
# -W build renders those outputs into _build/html (see tools/executed_book.py). A failing cell
# fails nbmake, and no HTML is built.
executed-book:
	$(BIN)/python tools/executed_book.py --timeout 240

unit:
	COOKBOOK_QUICK=1 $(BIN)/python -m pytest -q

notebooks:
	COOKBOOK_QUICK=1 $(BIN)/python -m pytest -q --nbmake --nbmake-timeout=240 --durations=0 -p no:cacheprovider $(NOTEBOOKS)

# Regenerate each chapter's paired, output-free .ipynb from its MyST source.
sync:
	$(BIN)/jupytext --sync book/*.md

clean:
	rm -rf _build _executed runs .pytest_cache
