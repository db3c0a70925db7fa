# OnRecord: `make demo` and `make test` each set up .venv/ first if it is missing.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip's own noise about local wheel folders is not ours to show.
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit bench bench-1m eval clean

install: $(STAMP)

# torch is installed on its own first, pinned: 2.13.0 resolves to the CPU wheel on this machine's
# disk, and an unpinned torch would pull a CUDA build of several GB.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install "torch==2.13.0" 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PIP) install -e ".[dev]" 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(BIN)/python -c "import torch, index, bot, cli, evaluation; assert '+cu' not in torch.__version__, torch.__version__"
	test -x $(BIN)/onrecord
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/onrecord index
	$(BIN)/onrecord ask "What do the cartels need to make fentanyl?"
	$(BIN)/onrecord ask "Who heads the Sinaloa cartel?"
	$(BIN)/onrecord ask "How many Americans died of drug overdoses in 2021?"
	$(BIN)/onrecord ask "How do I bake sourdough bread?"

lint: $(STAMP)
	$(BIN)/ruff check index bot cli evaluation tests scripts
	$(BIN)/ruff format --check index bot cli evaluation tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy index bot cli evaluation

unit: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

bench-1m: $(STAMP)
	$(BIN)/python scripts/bench.py --sizes 1000000 --backends onnx --section bench-1m

eval: $(STAMP)
	$(BIN)/onrecord eval ../shared/eval/squad-dev --baselines

clean:
	rm -rf $(VENV) .onrecord .pytest_cache .mypy_cache .ruff_cache
