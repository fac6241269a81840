# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo demo-airflow test test-fast bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Generate a demo night under ./demo and scrub it with the plain CLI.
demo: install
	$(BIN)/scrubline demo

# The same demo night through the real Airflow DAG (`airflow dags test`, SQLite metadata DB under ./demo).
demo-airflow: install
	$(BIN)/scrubline demo --airflow

# Every test, the end-to-end ones over the real CLI and the real Airflow DAG included.
test: install
	$(BIN)/pytest -q

# Unit tests only (skips the slow end-to-end tests).
test-fast: install
	$(BIN)/pytest -q -m "not e2e"

clean:
	rm -rf demo .pytest_cache
