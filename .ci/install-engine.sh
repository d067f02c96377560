#!/usr/bin/env bash
# Installs Docker Engine 28 (dockerd, containerd 2, buildx, Compose) from Debian sid's packages
# into /opt/docker, for Debian 12 CI machines whose own docker.io is 20.10 (end of life).
# sid's binaries need at most GLIBC 2.34 except its runc, so the host's runc is used instead.
# On Debian 13 or newer, or where a current engine is already installed, this does nothing.
set -euo pipefail
PREFIX=${DOCKER_PREFIX:-/opt/docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [[ -x $PREFIX/usr/sbin/dockerd ]]; then
  exit 0
fi
command -v runc >/dev/null || apt-get install -y -qq runc >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb $MIRROR sid main" >"$work/sources.list"
# A private apt state, so the host's own sources and package lists are left as they are.
# sid's Release file is often past its Valid-Until date on mirrors; the packages are still signed.
apt_options=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
  -o Acquire::Check-Valid-Until=false)
apt-get "${apt_options[@]}" update -qq
(cd "$work/cache" && apt-get "${apt_options[@]}" download -qq \
  containerd docker-buildx docker-cli docker-compose docker.io tini)
for package in "$work"/cache/*.deb; do
  dpkg-deb -x "$package" "$PREFIX"
done
"$PREFIX/usr/sbin/dockerd" --version
