# Bimtek KDMP: everything runs from here. `make demo` and `make test` set up a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UNITS := shared services/registration services/scheduling services/certificates gateway
PYTEST := $(BIN)/python -m pytest

.PHONY: install up down status demo test test-unit test-integration test-tools lint bench clean

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

# The certificate tests read PDFs back with real tools: pdftotext, pdftoppm and pdfinfo (poppler-utils)
# and zbarimg (zbar-tools); the verification page is opened in Debian's headless chromium (test tools'
# own browser downloads do not work here). Installed with apt where missing.
test-tools:
	@command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null && command -v pdfinfo >/dev/null \
		&& command -v zbarimg >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils zbar-tools; }
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }

test-unit: install test-tools  ## fast tests, no server needed
	$(PYTEST) -m "not integration" -q

test-integration: install test-tools  ## against real RabbitMQ and PostgreSQL (private instances where servers are killed)
	$(PYTEST) -m integration -q

test: lint test-tools  ## everything CI runs
	$(PYTEST) -q

bench: install  ## benchmarks (bench/README.md); not part of `make test`
	$(BIN)/python bench/run.py

clean: down
	rm -rf var
