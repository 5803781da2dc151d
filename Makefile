# Bimtek KDMP: everything runs from here. `make demo` and `make test` set up a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UNITS := shared services/registration services/scheduling services/certificates gateway
PYTEST := $(BIN)/python -m pytest

.PHONY: install up down status demo test test-unit test-integration lint bench clean

$(STAMP): constraints.txt requirements-dev.txt $(foreach u,$(UNITS),$(u)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 'setuptools<82' wheel
	$(BIN)/pip install --quiet -c constraints.txt -r requirements-dev.txt \
		-e 'shared[nameko]' -e services/registration -e services/scheduling -e services/certificates -e gateway
	touch $(STAMP)

install: $(STAMP)  ## a virtualenv with every unit installed (editable) and the test tools

up: install  ## start the three services and the gateway (http://127.0.0.1:8000) as local processes
	$(BIN)/bimtek-ops stack up

down:  ## stop them
	$(BIN)/bimtek-ops stack down

status:
	$(BIN)/bimtek-ops stack status

demo: install  ## the main job: a registration travelling through all three services (KEEP=1 leaves the stack up)
	$(BIN)/python scripts/demo.py

lint: install  ## architecture contracts, the event document, the deployment files
	$(BIN)/lint-imports .importlinter
	bash deploy/check.sh

test-unit: install  ## fast tests, no server needed
	$(PYTEST) -m "not integration" -q

test-integration: install  ## against real RabbitMQ and PostgreSQL (private instances where servers are killed)
	$(PYTEST) -m integration -q

test: lint  ## everything CI runs
	$(PYTEST) -q

bench: install  ## benchmarks (bench/README.md); not part of `make test`
	$(BIN)/python bench/run.py

clean: down
	rm -rf var
