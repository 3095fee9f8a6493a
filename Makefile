# `make run` serves the dashboard on demo data; `make test` runs the test suite. Both set up .venv first:
# `make run` with the runtime requirements only, `make test` with the test and benchmark tools too, both with
# the exact versions of constraints.txt so that a fresh install is reproducible.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet -c constraints.txt
STAMP := $(VENV)/.requirements.stamp
DEV_STAMP := $(VENV)/.requirements-dev.stamp
DEEP_STAMP := $(VENV)/.requirements-deep.stamp
HOST ?= 127.0.0.1
PORT ?= 8050

.PHONY: run test setup setup-dev deep demo refresh bench clean

setup: $(STAMP)

setup-dev: $(DEV_STAMP)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt constraints.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $(STAMP)

$(DEV_STAMP): requirements-dev.txt requirements-spark.txt requirements.txt constraints.txt | $(BIN)/python
	$(PIP) -r requirements-dev.txt
	touch $(STAMP) $(DEV_STAMP)

# The deep model's extra (PyTorch, CPU build): `make deep`; .ci/run installs it so CI tests the `lstm` model too.
deep: $(DEEP_STAMP)

$(DEEP_STAMP): requirements-deep.txt requirements.txt constraints.txt | $(BIN)/python
	$(PIP) -r requirements-deep.txt
	touch $(DEEP_STAMP)

run: setup
	$(BIN)/python cli.py setup-demo
	$(BIN)/python cli.py serve --host $(HOST) --port $(PORT)

test: setup-dev
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/python cli.py demo

refresh: setup
	$(BIN)/python cli.py refresh

bench: setup-dev
	$(BIN)/python bench/accuracy.py --dataset demo --json

clean:
	rm -rf $(VENV) data/sales.db data/sales.db-* data/cache data/models
