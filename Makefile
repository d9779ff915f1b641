# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The build backend's deprecation chatter is not for users of the sandbox.
PIP := PYTHONWARNINGS=ignore $(BIN)/python -m pip

.PHONY: demo test lint bench clean lab figures

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# One stamp per extra, redone whenever pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[$*]'
	touch $@

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

demo: $(VENV)/.installed-base
	@echo "== The lesson's execution sample: mrsandbox deploy --regions us-east-1,eu-west-1 model_v1"
	@$(BIN)/mrsandbox deploy --regions us-east-1,eu-west-1 model_v1
	@echo
	@echo "== A failure injected: eu-west-1's first deployment fails, the retry policy tries again"
	@echo "== mrsandbox deploy --regions us-east-1,eu-west-1 model_v1 --fail eu-west-1:deploy:1"
	@$(BIN)/mrsandbox deploy --regions us-east-1,eu-west-1 model_v1 --fail eu-west-1:deploy:1
	@echo
	@echo "== A canary rollout of model_v1 1.1.0 over 1.0.0: 10% of each region's traffic, a 60 s bake"
	@echo "== mrsandbox deploy --regions us-east-1,eu-west-1 model_v1_1 --strategy canary --bake-s 60"
	@$(BIN)/mrsandbox deploy --regions us-east-1,eu-west-1 model_v1_1 --strategy canary --bake-s 60

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Two workers (pytest-xdist): measured on 2 cores, the suite takes half the time, loaded too.
test: lint
	$(BIN)/python -m pytest -n 2

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py

# The README's figures, redrawn from the bundled scenarios.
figures: $(VENV)/.installed-base
	$(BIN)/python scripts/make_figures.py

# Jupyter refuses to run as root unless told; root is the only user of many containers.
lab: $(VENV)/.installed-lessons
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
