# Bimtek KDMP: everything runs from here. `make demo` and `make test` set up a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UNITS := shared services/registration services/scheduling services/certificates gateway cli
PYTEST := $(BIN)/python -m pytest

.PHONY: install up down status demo test test-unit test-integration test-tools lint bench clean audit fuzz chaos pdp-audit

$(STAMP): constraints.txt requirements-dev.txt $(foreach u,$(UNITS),$(u)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 'setuptools<82' wheel
	$(BIN)/pip install --quiet -c constraints.txt -r requirements-dev.txt \
		-e 'shared[nameko]' -e services/registration -e services/scheduling -e services/certificates -e gateway -e cli
	touch $(STAMP)

install: $(STAMP)  ## a virtualenv with every unit installed (editable) and the test tools

up: install  ## start the three services and the gateway (http://127.0.0.1:8000) as local processes
	$(BIN)/bimtek-ops stack up

down:  ## stop them
	$(BIN)/bimtek-ops stack down

status:
	$(BIN)/bimtek-ops stack status

demo: install  ## the Jombang Bimtek start to finish through the public API (KEEP=1 leaves the stack up)
	@command -v pdftoppm >/dev/null && command -v zbarimg >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq poppler-utils zbar-tools; }
	$(BIN)/python scripts/demo.py

lint: install  ## architecture contracts, the event document, the deployment files
	$(BIN)/lint-imports .importlinter
	bash deploy/check.sh
	$(BIN)/python scripts/scan_secrets.py

# Known vulnerabilities in every pinned dependency (scripts/audit_dependencies.py says how, and
# what happens where PyPI's advisory data cannot be reached). One request per pin, so `make test` runs it.
audit: install
	$(BIN)/python scripts/audit_dependencies.py

# The certificate tests read PDFs back with real tools: pdftotext, pdftoppm and pdfinfo (poppler-utils)
# and zbarimg (zbar-tools); the verification page is opened in Debian's headless chromium (test tools'
# own browser downloads do not work here). deploy/check.sh validates docker-compose.yml with Debian's
# docker-compose (Compose 1.29, no engine needed). Installed with apt where missing.
test-tools:
	@command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null && command -v pdfinfo >/dev/null \
		&& command -v zbarimg >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils zbar-tools; }
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }
	@command -v docker-compose >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose; }
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || bash deploy/prometheus/check.sh --install-only  # Debian's prometheus, its daemon not started

test-unit: install test-tools  ## fast tests, no server needed
	$(PYTEST) -m "not integration" -q

test-integration: install test-tools  ## against real RabbitMQ and PostgreSQL (private instances where servers are killed)
	$(PYTEST) -m integration -q

test: lint audit test-tools  ## everything CI runs
	$(PYTEST) -q

# The gateway against its OpenAPI, bigger than CI's sample: every Schemathesis phase, 25 examples an
# operation (tests/integration/test_openapi_fuzz.py; FUZZ_MAX_EXAMPLES, FUZZ_PHASES, FUZZ_SEED override).
fuzz: install test-tools  ## not part of `make test`
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-25} FUZZ_PHASES=$${FUZZ_PHASES:-examples,coverage,fuzzing,stateful} \
		$(PYTEST) -q -s tests/integration/test_openapi_fuzz.py

bench: install  ## benchmarks (bench/README.md); not part of `make test`
	$(BIN)/python bench/run.py

# The personal-data leak audit (scripts/pdp_audit.py): the whole Jombang demo on private servers with
# every log line (DEBUG), metric, broker message and URL captured and searched for NIKs, names and
# phone numbers; the report in var/pdp-audit/report.json. Not part of `make test` (its CI-sized run
# is tests/integration/test_personal_data_leaks.py).
pdp-audit: install test-tools
	$(BIN)/python scripts/pdp_audit.py

# The province-scale chaos run (tests/integration/test_chaos.py): CHAOS_REGENCIES regencies of Jawa
# Timur whole under repeated faults; CHAOS_SEED repeats a run. Figures in var/chaos/province-N.json.
CHAOS_REGENCIES ?= 38
chaos: install  ## the chaos run at province scale (hours at 38 regencies); not part of `make test`
	CHAOS_REGENCIES=$(CHAOS_REGENCIES) $(PYTEST) tests/integration/test_chaos.py -k province -q -s

clean: down
	rm -rf var
