# The two set-up commands work from a fresh clone: each creates .venv and installs govbot first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-clock lint install clean bench bench-quick

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

# The whole suite with the wall clock moved years ahead and back (needs libfaketime; see the README).
test-clock: $(STAMP)
	tests/faketime/run

# The benchmarks print figures against a baseline measured in the same run and never fail on a slow machine.
# The full run takes about 15 minutes (Slack's rate limit sets the pace); BENCH_QUICK=1 or bench-quick: about 2.
BENCH_FLAGS := $(if $(BENCH_QUICK),--quick)
BENCH_RUN := $(if $(BENCH_QUICK),the quick run takes about 2 minutes,the full run takes about 15 minutes (make bench-quick: about 2))
bench: $(STAMP)
	@echo "make bench: $(BENCH_RUN)"
	$(BIN)/python benchmarks/plan_sprints.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/survey_invitations.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/check_policy.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/digest.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/ack_latency.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/hostile_requests.py $(BENCH_FLAGS)

bench-quick:
	$(MAKE) --no-print-directory bench BENCH_QUICK=1

clean:
	rm -rf $(VENV) govbot-demo .pytest_cache .ruff_cache
