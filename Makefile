# The one task entry point: people and CI (.ci/run, CircleCI, GitHub Actions) call these targets.
# `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-host.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes -r requirements.txt -r requirements-dev.txt
	$(VENV)/bin/pip install -q -r requirements-host.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Host tools for the tests outside the container (pytest, linters, Playwright)

.PHONY: base-images
base-images: ## Build stand-in Python and Redis base images from Debian packages (no registry needed)
	bash base-images/build.sh

.PHONY: ca-cert
ca-cert: ## Let image builds trust this host's CA bundle (for TLS-intercepting proxies)
	cp /etc/ssl/certs/ca-certificates.crt certs/extra-ca.pem

.PHONY: requirements
requirements: venv ## Recompile requirements*.txt (pinned, with hashes) from the .in files
	$(VENV)/bin/pip-compile -q --generate-hashes --strip-extras -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile -q --generate-hashes --strip-extras --allow-unsafe -o requirements-dev.txt requirements-dev.in

.PHONY: lint
lint: venv ## ruff, yamllint, hadolint, shellcheck-free shell syntax check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/yamllint -s .
	$(VENV)/bin/hadolint Dockerfile base-images/*.Dockerfile
	for f in $$(git ls-files '*.sh') .ci/run; do bash -n "$$f"; done

.PHONY: test
test: ## The test suite in the container (README's command), then the host-side container tests
	docker compose run --rm dockerapp python test.py
