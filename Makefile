# `make run` serves the dashboard on demo data; `make test` runs the test suite. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements.stamp
HOST ?= 127.0.0.1
PORT ?= 8050

.PHONY: run test setup demo refresh bench clean

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: setup
	$(BIN)/python cli.py setup-demo
	$(BIN)/python cli.py serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/python cli.py demo

refresh: setup
	$(BIN)/python cli.py refresh

bench: setup
	$(BIN)/python bench/accuracy.py --dataset demo --json

clean:
	rm -rf $(VENV) data/sales.db data/sales.db-* data/cache data/models
