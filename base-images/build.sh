#!/usr/bin/env bash
# Builds stand-ins for the official base images from Debian packages, for hosts that cannot
# pull from Docker Hub (air-gapped sites, rate limits, these CI machines). The images keep the
# behaviour the project relies on (a venv-capable Python 3, a Redis that accepts other
# containers without a password), not every detail of the official ones.
set -euo pipefail
cd "$(dirname "$0")"

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_IMAGE=localbase/debian:$SUITE-slim
PYTHON_IMAGE=localbase/python:3.11-slim-$SUITE
REDIS_IMAGE=localbase/redis:7.0-$SUITE
export DOCKER_BUILDKIT=0 # the classic builder is the one every Docker client here has

if ! docker image inspect "$DEBIAN_IMAGE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "base-images: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >/dev/null
  # The same trimming the official slim images apply: no docs, man pages or apt caches.
  cp debian-slim/dpkg-nodoc "$rootfs/etc/dpkg/dpkg.cfg.d/docker-nodoc"
  cp debian-slim/apt-slim "$rootfs/etc/apt/apt.conf.d/docker-slim"
  rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
fi

docker build -q --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -t "$PYTHON_IMAGE" -f python.Dockerfile . >/dev/null
docker build -q --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -t "$REDIS_IMAGE" -f redis.Dockerfile . >/dev/null

echo "Built stand-in base images. To use them, put these lines in .env (or export them):"
echo "PYTHON_IMAGE=$PYTHON_IMAGE"
echo "REDIS_IMAGE=$REDIS_IMAGE"
