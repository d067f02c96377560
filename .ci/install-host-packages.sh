#!/usr/bin/env bash
# Installs, where missing, the Debian or Ubuntu packages the gates (make lint, test, proof and
# swarm-test) run on the host, and any more packages named as arguments. .ci/run and every job
# of the hosted pipelines (.circleci/config.yml, .github/workflows/ci.yml) call it, so the
# machines that gate a release cannot drift apart in what they install.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# apache2-utils (htpasswd) and docker-registry: the pipeline tests' registry; jq: publish and
# verify; iproute2 (ss): the port check names who holds DOCKERAPP_PORT; redis-server and
# redis-tools: the Kubernetes Redis command run on the host (k8s-check); shellcheck: make lint;
# wrk: the proof's load; bind9-dnsutils, bsdextrautils, libnss3-tools and procps: testssl.sh
# and the Chromium trust store of make test-edge.
packages=(apache2-utils bind9-dnsutils bsdextrautils docker-registry iproute2 jq libnss3-tools make
  openssl procps redis-server redis-tools shellcheck wrk "$@")
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
((${#missing[@]})) || exit 0
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"

# Where systemd runs (the hosted VMs), installing starts these services: the registry on 5000,
# the app's port, and a Redis nobody uses. The tests start their own on ports they choose.
if [[ -d /run/systemd/system ]]; then
  for service in docker-registry redis-server; do
    if [[ " ${missing[*]} " == *" $service "* ]]; then
      systemctl disable --now "$service.service"
    fi
  done
fi
