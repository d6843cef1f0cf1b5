# The two set-up commands work from a fresh clone: each creates .venv and installs govbot first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/govbot demo --out govbot-demo

lint: $(STAMP)
	$(BIN)/ruff check govbot tests benchmarks
	$(BIN)/mypy govbot
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/plan_sprints.py
	$(BIN)/python benchmarks/survey_invitations.py

clean:
	rm -rf $(VENV) govbot-demo .pytest_cache .ruff_cache
