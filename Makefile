# Everything a fresh machine needs: `make demo` and `make test` create .venv and install themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PACKAGES := contracts libs/servicekit services/planning services/import services/affectation \
            services/billing services/notify prestaflow
STAMP := $(VENV)/.installed
OUT ?= demo-output

.PHONY: install demo test test-fast schemas migrations clean checkov

$(STAMP): requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(foreach p,$(PACKAGES),-e $(p)) -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# checkov (tests/deploy) in a virtualenv of its own: its dependencies conflict with the project's.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): deploy/requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r deploy/requirements-checkov.txt
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)

demo: $(STAMP)
	$(BIN)/prestaflow demo --out $(OUT)

# The whole suite: unit, integration (real PostgreSQL) and system tests (real Kafka-protocol broker).
test: $(STAMP) $(CHECKOV_STAMP)
	@$(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null \
	  || (command -v pg_ctlcluster >/dev/null && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start) \
	  || echo "PostgreSQL is not reachable on 127.0.0.1:5432: set PRESTAFLOW_TEST_DATABASE_URL"
	$(BIN)/python -m contracts.schemas --check
	$(BIN)/pytest

# Without the subprocess/broker system tests.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not system"

schemas: $(STAMP)
	$(BIN)/python -m contracts.schemas

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .prestaflow $(OUT)
