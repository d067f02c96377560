#!/usr/bin/env bash
# Builds stand-ins for the official base images from Debian 13 (trixie) packages, for hosts that
# cannot pull from Docker Hub (air-gapped sites, rate limits, these CI machines). They keep the
# official images' contract that Dockerfiles rely on (docs/containers.md, "Stand-in base images";
# tests/containers/test_base_images.py checks it), with BuildKit, for every platform asked for.
#
#   BASE_PLATFORMS  comma-separated platforms for the Debian and default Python images, the ones
#                   a release is built on (`make publish`); default: the engine's own. Others run
#                   under QEMU. The Python 3.13, Redis and Caddy images serve local runs, and the
#                   Python 3.11 one on Debian 12 (bookworm) only `make bench`'s faithful original
#                   (bench/original/): native only.
#   DEBIAN_MIRROR   the Debian mirror; default deb.debian.org.
#   ROOTFS_CACHE    where the debootstrapped root filesystems are kept between runs.
set -euo pipefail
cd "$(dirname "$0")"

SUITE=trixie
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NATIVE=$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')
PLATFORMS=${BASE_PLATFORMS:-$NATIVE}
[[ ,$PLATFORMS, == *,$NATIVE,* ]] || PLATFORMS=$NATIVE,$PLATFORMS # the native images build on it
CACHE=${ROOTFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dockerapp-rootfs}
DEBIAN_IMAGE=localbase/debian:$SUITE-slim
PYTHON_IMAGE=localbase/python:3.14-slim-$SUITE
PYTHON_313_IMAGE=localbase/python:3.13-slim-$SUITE
REDIS_IMAGE=localbase/redis:8-$SUITE
CADDY_IMAGE=localbase/caddy:2-$SUITE
# The original course app's Python line, on the Debian release that ships it (bench/original/).
OLD_SUITE=bookworm
OLD_DEBIAN_IMAGE=localbase/debian:$OLD_SUITE-slim
ORIGINAL_PYTHON_IMAGE=localbase/python:3.11-slim-$OLD_SUITE

fail() {
  echo "base-images: $*" >&2
  exit 1
}
docker buildx version >/dev/null 2>&1 ||
  fail "these builds need BuildKit: install the docker-buildx plugin (Docker Engine 23 or newer)"
command -v debootstrap >/dev/null || fail "debootstrap is missing (apt-get install debootstrap)"

# One minimal root filesystem per suite and architecture, trimmed like the official slim images.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$CACHE"
rootfs_tarball() { # rootfs_tarball SUITE ARCH: debootstrap it once, into the cache
  local suite=$1 arch=$2 tarball=$CACHE/$1-$2.tar rootfs
  if [[ ! -s $tarball ]]; then
    rootfs=$(mktemp -d)
    # A foreign architecture's second stage runs under QEMU (binfmt_misc), about 3 minutes.
    debootstrap --arch="$arch" --variant=minbase "$suite" "$rootfs" "$MIRROR" >/dev/null ||
      fail "debootstrap $suite for $arch failed (for a foreign architecture: apt-get install qemu-user-static)"
    cp debian-slim/dpkg-nodoc "$rootfs/etc/dpkg/dpkg.cfg.d/docker-nodoc"
    cp debian-slim/apt-slim "$rootfs/etc/apt/apt.conf.d/docker-slim"
    rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* \
      "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
  fi
  mkdir -p "$context/$suite"
  ln "$tarball" "$context/$suite/rootfs-$arch.tar" 2>/dev/null || cp "$tarball" "$context/$suite/rootfs-$arch.tar"
  cp debian.Dockerfile "$context/$suite/"
}
for platform in ${PLATFORMS//,/ }; do
  rootfs_tarball "$SUITE" "${platform#linux/}"
done
rootfs_tarball "$OLD_SUITE" "${NATIVE#linux/}"

build() { # build PLATFORMS IMAGE DOCKERFILE CONTEXT [build args...]
  local platforms=$1 image=$2 dockerfile=$3 dir=$4
  shift 4
  # DEBIAN_IMAGE first: a later --build-arg DEBIAN_IMAGE=... in "$@" overrides it.
  docker buildx build --quiet --load --platform "$platforms" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
    "$@" -t "$image" -f "$dockerfile" "$dir" >/dev/null || fail "building $image for $platforms failed"
}
build "$PLATFORMS" "$DEBIAN_IMAGE" "$context/$SUITE/debian.Dockerfile" "$context/$SUITE"
build "$PLATFORMS" "$PYTHON_IMAGE" python.Dockerfile . --build-arg PYTHON_VERSION=3.14 --build-arg PYTHON_SUITE=sid
build "$NATIVE" "$PYTHON_313_IMAGE" python.Dockerfile . --build-arg PYTHON_VERSION=3.13 --build-arg PYTHON_SUITE=trixie
build "$NATIVE" "$REDIS_IMAGE" redis.Dockerfile .
build "$NATIVE" "$CADDY_IMAGE" caddy.Dockerfile .
build "$NATIVE" "$OLD_DEBIAN_IMAGE" "$context/$OLD_SUITE/debian.Dockerfile" "$context/$OLD_SUITE"
build "$NATIVE" "$ORIGINAL_PYTHON_IMAGE" python.Dockerfile . --build-arg "DEBIAN_IMAGE=$OLD_DEBIAN_IMAGE" \
  --build-arg PYTHON_VERSION=3.11 --build-arg PYTHON_SUITE=$OLD_SUITE

echo "Built stand-in base images for $PLATFORMS. To use them, put these lines in .env (or export them):"
echo "PYTHON_IMAGE=$PYTHON_IMAGE"
echo "REDIS_IMAGE=$REDIS_IMAGE"
echo "PYTHON_313_IMAGE=$PYTHON_313_IMAGE"
echo "CADDY_IMAGE=$CADDY_IMAGE"
echo "ORIGINAL_PYTHON_IMAGE=$ORIGINAL_PYTHON_IMAGE"
