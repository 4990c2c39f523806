# Two commands do all the set-up: `make dev` runs the CRM, `make test` runs the tests.
# Each creates .venv and installs what it needs on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: dev demo test bench schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

dev: $(STAMP)
	$(VENV)/bin/crm dev

demo: $(STAMP)
	$(VENV)/bin/crm dev --demo

test: $(STAMP)
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(VENV)/bin/python bench/run.py

schema: $(STAMP)
	$(VENV)/bin/crm schema

clean:
	rm -rf $(VENV) .crm .pytest_cache
