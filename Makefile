# PaginaMadre: `make run` starts the whole portal, `make test` runs every test.
# Both set everything up first and are quick the second time.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/*.txt | sha1sum | cut -c1-12)
export DJANGO_SETTINGS_MODULE ?= site_config.settings.local
# Keep bytecode (and pytest's rewritten test modules) between runs even where the shell
# sets PYTHONDONTWRITEBYTECODE: recompiling ~280 test modules costs ~10 s per run.
unexport PYTHONDONTWRITEBYTECODE
# Processes for the tests that run in parallel (pytest-xdist; each process has its own
# SQLite file, test database and queue prefix, so they never share state).
FAST_WORKERS ?= 2

.PHONY: setup venv chromium migrate run test test-fast test-faults lint format check-rabbitmq ensure-redis image

setup: venv chromium

venv: $(STAMP)

$(STAMP): requirements/base.txt requirements/production.txt requirements/local.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements/local.txt
	@rm -f $(VENV)/.installed-* && touch $@

chromium:
	@bash compose/local/ensure_chromium.sh

migrate: venv
	@$(PY) manage.py migrate --noinput --verbosity 0
	@$(PY) manage.py createcachetable

check-rabbitmq: venv
	@$(PY) compose/local/check_rabbitmq.py

# Redis holds the fleet's shared counters (hourly captcha budget, per-source rate limits and
# breakers); a local one is started when REDIS_URL points here and nothing answers.
ensure-redis:
	@bash compose/local/ensure_redis.sh

# compose/local/run.py is honcho with a graceful stop: Ctrl-C lets in-flight lookups
# finish (up to the worker's shutdown timeout) and ends without "make: *** Error 130".
run: setup migrate check-rabbitmq ensure-redis
	@echo "PaginaMadre: http://127.0.0.1:$${WEB_PORT:-8000}  (replica: http://127.0.0.1:$${REPLICA_PORT:-8001}/censo/consultar/)"
	@$(PY) compose/local/run.py --procfile compose/local/Procfile

# Two passes: the tests that start no process of ours run on FAST_WORKERS cores (pytest-xdist);
# those with a real broker, Chromium or worker run one at a time, as their timings assume.
# TEST_MARKS narrows both (CI's SQLite pass uses it).
TEST_MARKS ?= not faults
# Both passes always run; exit code 5 (a pass that selects nothing, e.g. one file) is not a failure.
test: setup check-rabbitmq ensure-redis
	@export DJANGO_SETTINGS_MODULE=site_config.settings.test; status=0; \
	$(VENV)/bin/pytest -n $(FAST_WORKERS) -m "($(TEST_MARKS)) and not (broker or browser or e2e)" $(PYTEST_ARGS) || { rc=$$?; [[ $$rc == 5 ]] || status=$$rc; }; \
	$(VENV)/bin/pytest -m "($(TEST_MARKS)) and (broker or browser or e2e)" $(PYTEST_ARGS) || { rc=$$?; [[ $$rc == 5 ]] || status=$$rc; }; \
	exit $$status

# Faults injected into private copies of RabbitMQ and PostgreSQL (tests/faults/), ~minutes.
test-faults: setup check-rabbitmq ensure-redis
	@DJANGO_SETTINGS_MODULE=site_config.settings.test $(VENV)/bin/pytest -m faults tests/faults -s $(PYTEST_ARGS)

# Everything that needs neither RabbitMQ nor Chromium (no broker check, no browser install),
# on FAST_WORKERS processes.
test-fast: venv ensure-redis
	@FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-60} DJANGO_SETTINGS_MODULE=site_config.settings.test $(VENV)/bin/pytest -n $(FAST_WORKERS) -m "not broker and not browser and not e2e and not faults and not slow" $(PYTEST_ARGS)

lint: venv
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: venv
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

# Optional: build the production image with podman (or docker). Needs the base image
# python:3.11-slim-bookworm and Debian's package mirrors, so it cannot work on a machine
# that reaches only the package registries (docs/operations.md, "Building the image").
IMAGE ?= paginamadre:latest
image:
	@engine=$$(command -v podman || command -v docker) || { echo "make image: neither podman nor docker is installed (apt-get install podman)" >&2; exit 1; }; \
	$$engine build -f compose/production/Dockerfile -t $(IMAGE) . || { echo "make image: the build failed; podman/docker must be able to pull $${PYTHON_IMAGE:-python:3.11-slim-bookworm} and reach Debian's mirrors" >&2; exit 1; }
