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
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-build.txt requirements-host.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes -r requirements.txt -r requirements-dev.txt -r requirements-build.txt
	$(VENV)/bin/pip install -q -r requirements-host.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Host tools for the tests outside the container (pytest, linters, Playwright, uv)

# Compose reads .env itself; these targets load it the same way, so PYTHON_IMAGE/REDIS_IMAGE apply.
LOAD_ENV := . scripts/load-dotenv.sh
IMAGE ?= dockerapp:latest
# The official image of the older supported Python line; PYTHON_313_IMAGE in .env overrides it.
PYTHON_313_IMAGE ?= python:3.13.16-slim-trixie

.PHONY: docker-check
docker-check: ## Say in one line what is missing when Docker is too old for these targets
	@bash scripts/check-docker.sh

.PHONY: base-images
base-images: docker-check ## Stand-in Python, Redis and Caddy base images from Debian packages (BASE_PLATFORMS=...)
	bash base-images/build.sh

.PHONY: requirements
# For the oldest Python they install on (the host venv on Debian 12), so async-timeout stays in.
# The command is the files' header, which Renovate reruns to update them (renovate.json).
requirements: venv ## Recompile requirements*.txt (pinned, with hashes) from the .in files, with uv
	for name in requirements requirements-dev requirements-build; do \
	  $(VENV)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes \
	    --output-file $$name.txt $$name.in; \
	done
	# The benchmark's original keeps its 2017 stack (bench/original/): compiled, never upgraded.
	cd bench/original && ../../$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes \
	  --output-file requirements.txt requirements.in

# --- Development ---

.PHONY: build
build: docker-check ## Build the production image (the Dockerfile's runtime stage) as dockerapp:latest (IMAGE=...)
	$(LOAD_ENV); docker buildx build --load -t $(IMAGE) \
	  $${EXTRA_CA_CERTS:+--secret id=extra_ca,src=$$EXTRA_CA_CERTS} \
	  --build-arg PYTHON_IMAGE --build-arg SOURCE_URL --build-arg CREATED="$$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	  --build-arg VERSION="$$(git describe --tags --always)" --build-arg GIT_REVISION="$$(git rev-parse HEAD)" .

.PHONY: up
up: docker-check ## Start the development stack in the background on http://localhost:5000 (DOCKERAPP_PORT)
	$(LOAD_ENV); bash scripts/check-port.sh; docker compose up --build --detach --wait

.PHONY: watch
watch: docker-check ## The development loop: serve on :5000 (DOCKERAPP_PORT) and sync each edit into the container
	$(LOAD_ENV); bash scripts/check-port.sh; docker compose up --build --watch

.PHONY: down
down: ## Stop the development stack (its Redis data stays; `docker compose down -v` drops it)
	docker compose down

# Where `make secrets` and `make user` write; prod.yml and stack.yml read ./secrets.
SECRETS_DIR ?= secrets

.PHONY: secrets
secrets: ## Create what prod.yml needs in ./secrets, if missing: random keys, an API token, a users file
	install -d -m 700 $(SECRETS_DIR)
	for name in redis_password secret_key api_tokens; do \
	  [[ -s $(SECRETS_DIR)/$$name ]] || python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >$(SECRETS_DIR)/$$name; \
	  chmod 644 $(SECRETS_DIR)/$$name; \
	done
	[[ -e $(SECRETS_DIR)/users ]] || : >$(SECRETS_DIR)/users  # `make user USER=<name>` fills it
	chmod 644 $(SECRETS_DIR)/users

# The hash is made in the app's own image (argon2-cffi is there, nothing to install on the
# host), with no network; the file is edited here, where it lives. The password travels on
# stdin only: a `read` and printf are shell builtins, so it never shows in `ps`. (No `build
# --quiet`: with it, Compose 2.40 refuses the build's CA secret as an unapproved entitlement.)
.PHONY: user
user: docker-check ## Add or replace USER in ./secrets/users, password from stdin: make user USER=alice
	@[[ "$(origin USER)" == "command line" ]] || \
	  { echo "make user: name the user on the command line: make user USER=<name>" >&2; exit 2; }
	$(LOAD_ENV); docker compose build dockerapp
	@install -d -m 700 $(SECRETS_DIR)
	@if [[ -t 0 ]]; then read -rsp "Password for $(USER): " password; echo >&2; \
	else IFS= read -r password || [[ -n $$password ]] || \
	  { echo "make user: the password (standard input's first line) is empty" >&2; exit 2; }; fi; \
	$(LOAD_ENV); line=$$(printf '%s\n' "$$password" | docker run --rm -i --network none \
	  "$${DOCKERAPP_DEV_IMAGE:-dockerapp:dev}" python -m app.hash_password "$(USER)"); \
	{ [[ ! -e $(SECRETS_DIR)/users ]] || awk -F: -v name="$(USER)" '$$1 != name' $(SECRETS_DIR)/users; \
	  printf '%s\n' "$$line"; } >$(SECRETS_DIR)/users.new; \
	chmod 644 $(SECRETS_DIR)/users.new; mv $(SECRETS_DIR)/users.new $(SECRETS_DIR)/users
	@echo "make user: $(USER) is in $(SECRETS_DIR)/users; a running prod.yml reads it after" \
	  "docker compose -f prod.yml kill -s HUP dockerapp"

# --- Checks ---

.PHONY: lint
lint: venv ## ruff, mypy, yamllint, hadolint, shellcheck and zizmor over the whole tree
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/yamllint -s .
	$(VENV)/bin/hadolint Dockerfile base-images/*.Dockerfile bench/*.Dockerfile bench/original/Dockerfile tests/edge/*.Dockerfile tests/swarm/*.Dockerfile
	shellcheck $$(git ls-files '*.sh') .ci/run
	$(VENV)/bin/zizmor --offline --quiet .github/workflows/ci.yml

.PHONY: test
test: test-app test-app-python313 test-app-arm64 test-containers test-browser test-edge test-openapi test-pipeline test-bench k8s-check ## Every test CI runs for a change (proof and swarm-test aside)

.PHONY: test-app
test-app: docker-check ## The service's suite inside the dev container, against the Compose Redis (the README's command)
	@# `run` builds a missing image but never refreshes a stale one, hence the explicit build.
	export COMPOSE_PROJECT_NAME=dockerapp-test; trap 'docker compose down --volumes' EXIT; \
	docker compose build dockerapp; \
	docker compose run --rm dockerapp python test.py

.PHONY: test-app-python313
test-app-python313: docker-check ## The same suite on the older supported Python line (PYTHON_313_IMAGE)
	$(LOAD_ENV); export COMPOSE_PROJECT_NAME=dockerapp-test313 DOCKERAPP_DEV_IMAGE=dockerapp:dev-python313; \
	export PYTHON_IMAGE=$${PYTHON_313_IMAGE:-$(PYTHON_313_IMAGE)}; \
	trap 'docker compose down --volumes' EXIT; \
	docker compose build dockerapp; \
	docker compose run --rm dockerapp python -c 'import sys; assert sys.version_info[:2] == (3, 13), sys.version'; \
	docker compose run --rm dockerapp python test.py

# The arm64 image's suite, the amd64 one's twin; under QEMU here, as on most CI machines. Its
# builder runs natively (Dockerfile), so only the test stage's apt-get and the suite are emulated.
.PHONY: test-app-arm64
test-app-arm64: docker-check ## The same suite in the arm64 image (under QEMU on other machines), against a Redis
	$(LOAD_ENV); export COMPOSE_PROJECT_NAME=dockerapp-test-arm64 DOCKERAPP_DEV_IMAGE=dockerapp:dev-arm64; \
	export COMPOSE_FILE=docker-compose.yml:tests/app-arm64.yml; \
	trap 'docker compose down --volumes' EXIT; \
	docker compose build dockerapp; \
	docker compose run --rm dockerapp python -c 'import os; assert os.uname().machine == "aarch64", os.uname()'; \
	docker compose run --rm dockerapp python test.py

.PHONY: test-browser
test-browser: venv docker-check ## Chromium (Playwright) and schemathesis against the app served by the dev container
	export COMPOSE_PROJECT_NAME=dockerapp-browser DOCKERAPP_PORT=15080; trap 'docker compose down --volumes' EXIT; \
	docker compose up --build --detach --wait; \
	APP_URL=http://127.0.0.1:15080 $(PYTEST) tests/browser

.PHONY: test-containers
test-containers: venv docker-check ## Host-side tests of the image and the Compose files (drive the Docker CLI)
	$(LOAD_ENV); $(PYTEST) tests/containers

.PHONY: test-edge
test-edge: venv docker-check ## prod.yml's HTTPS edge: Caddy with Pebble as ACME CA, testssl.sh, tokens, login in Chromium
	$(LOAD_ENV); $(PYTEST) tests/edge

.PHONY: test-pipeline
test-pipeline: venv ## CI config rules and schemas; publish to a real local registry and pull back
	$(PYTEST) tests/pipeline

.PHONY: test-bench
test-bench: venv ## The benchmark's own logic (its MET / NOT MET rule, wrk's output) and the host-side helpers, no Docker
	$(PYTEST) -q tests/bench tests/test_host_helpers.py

.PHONY: test-openapi
test-openapi: venv openapi-lint-tools ## Lint /openapi.json with spectral's OpenAPI ruleset; any finding fails
	$(PYTEST) tests/openapi

.PHONY: openapi-lint-tools
openapi-lint-tools: tests/openapi/node_modules/.installed ## spectral (npm; pinned in tests/openapi/package-lock.json)

# --ignore-scripts: no package needs one, and a dependency's postinstall only sends usage analytics.
tests/openapi/node_modules/.installed: tests/openapi/package.json tests/openapi/package-lock.json
	npm ci --prefix tests/openapi --ignore-scripts --no-audit --no-fund
	touch $@

.PHONY: k8s-check
k8s-check: venv ## Render the Kubernetes overlays (kustomize) and validate them offline; no cluster
	$(PYTEST) -q tests/deploy/test_kubernetes.py

.PHONY: proof
proof: venv ## Fault, load, bad-input, security checks on fresh prod.yml containers (PROOF_LOAD_SECONDS=60)
	$(LOAD_ENV); $(PYTEST) -p no:cacheprovider tests/proof
.PHONY: swarm-test
swarm-test: venv ## stack.yml on a real 3-node swarm (docker-in-docker): update, rollback, node loss
	$(PYTEST) -q tests/deploy/test_stack_file.py
	$(LOAD_ENV); $(PYTHON) -m tests.swarm.swarm_check

# --- Figures ---

.PHONY: bench
bench: docker-check ## HTTP in containers, as users run it: dev stack and prod.yml vs the original (its own stack), floor, ceiling (~10 min)
	$(LOAD_ENV); python3 bench/containers.py

.PHONY: bench-http
bench-http: venv ## Host mode, not how users run it: gunicorn on 127.0.0.1, no Docker, vs floor and ceiling (~2 min)
	$(PYTHON) bench/bench_http.py

.PHONY: bench-python
bench-python: docker-check ## Python µs per request, app vs floor vs ceiling as WSGI calls, in the dev container (ARGS=--profile)
	export COMPOSE_PROJECT_NAME=dockerapp-bench-python; trap 'docker compose down --volumes' EXIT; \
	docker compose build dockerapp; \
	docker compose run --rm --volume ./bench:/app/bench:ro --env REDIS_URL=redis://redis:6379/15 \
	  dockerapp python bench/python_cost.py $(ARGS)

.PHONY: bench-image
bench-image: ## Image size, build and rebuild times, start/stop times, in-container test time
	$(LOAD_ENV); $(PYTHON) bench/image.py

# --- Delivery ---

.PHONY: publish
publish: ## Build for PLATFORMS, push USER/dockerapp:<commit SHA> (+ :latest on main), sign; docs/pipeline.md
	$(LOAD_ENV); bash scripts/publish.sh

.PHONY: verify
verify: ## Check a pushed image before deploying it: signature, platforms, revision, SBOM (IMAGE=repo@digest)
	@# IMAGE has a default for `make build`; verifying must name the image it checks.
	@$(if $(filter file,$(origin IMAGE)),echo "verify: give the image to check: make verify IMAGE=REPOSITORY@sha256:DIGEST" >&2; exit 2)
	$(LOAD_ENV); bash scripts/verify.sh "$(IMAGE)"
