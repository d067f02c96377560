#!/usr/bin/env bash
# One-line diagnosis before a target needs a feature the local Docker lacks, instead of an obscure
# failure halfway through. The versions are where each feature arrived (docs/containers.md):
#   Engine 25   healthcheck start_interval (Compose files), so `up --wait` returns in seconds
#   buildx      BuildKit: secret and cache mounts in the Dockerfile, multi-platform builds
#   Compose 2.22 `docker compose watch`, the development loop
set -euo pipefail

fail() {
  echo "dockerapp: $*" >&2
  exit 1
}
at_least() { # at_least VERSION MINIMUM: true when VERSION >= MINIMUM (numeric, dot-separated)
  [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1) == "$2" ]]
}

engine=$(docker version --format '{{.Server.Version}}' 2>/dev/null) ||
  fail "no Docker engine answers ($(docker context show 2>/dev/null || echo 'no context')): start Docker Engine 25 or newer"
at_least "${engine%%[+-]*}" 25.0 ||
  fail "Docker Engine $engine is too old: 25 or newer is needed (healthcheck start_interval, BuildKit secrets)"
docker buildx version >/dev/null 2>&1 ||
  fail "the docker-buildx plugin is missing: BuildKit builds the images (install docker-buildx-plugin)"
compose=$(docker compose version --short 2>/dev/null) ||
  fail "the Docker Compose plugin is missing: install docker-compose-plugin (2.22 or newer)"
at_least "${compose#v}" 2.22 ||
  fail "Docker Compose $compose is too old: 2.22 or newer is needed (docker compose watch)"
