# Two commands for a newcomer: `make serve` and `make test`. Each installs what it needs
# into .venv on first use (and again whenever pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install serve test perf chaos run-benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/reevd serve --root .

test: $(STAMP)
	$(PY) -m mypy
	$(PY) -m pytest -q

run-benchmarks: $(STAMP)
	$(VENV)/bin/reev-runner benchmarks/

# Every perf table: issue 12's six items beside their floors (full), then the earlier
# issues' scripts in their quick form; under ~15 minutes. `make perf QUICK=1`: a few minutes.
perf: $(STAMP)
	$(PY) perf/limits_perf.py $(if $(QUICK),--quick,)
	$(PY) perf/ingest_perf.py --quick
	$(PY) perf/launch_perf.py --quick
	$(PY) perf/runner_perf.py --quick
	$(PY) perf/shutdown_with_streams.py 50 3 25
	$(PY) perf/llm_perf.py --quick
	$(PY) perf/fork_perf.py --quick
	$(PY) perf/dashboard_perf.py --quick

# The fault suite's long versions (short ones run in `make test`, tests/faults/).
chaos: $(STAMP)
	$(PY) perf/chaos.py

clean:
	rm -rf $(VENV) build *.egg-info
