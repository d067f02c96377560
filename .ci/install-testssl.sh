#!/usr/bin/env bash
# Installs testssl.sh 3.2 from Debian sid's package into /opt/testssl and prints the path of a
# wrapper that runs it, for Debian 12 CI machines, whose own archive has only 3.0. It is a bash
# script: its dependencies (openssl, bsdextrautils, procps, bind9-dnsutils) come from the host's
# apt (.ci/run). Where it is already unpacked, this only prints the path.
#   TESTSSL_PREFIX  where to unpack; default /opt/testssl.
#   DEBIAN_MIRROR   the Debian mirror; default deb.debian.org.
set -euo pipefail
PREFIX=${TESTSSL_PREFIX:-/opt/testssl}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
wrapper=$PREFIX/testssl

if [[ ! -x $wrapper ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb [signed-by=$KEYRING] $MIRROR sid main" >"$work/sources.list"
  # A private apt state, so the host's own sources and package lists are left as they are (see
  # install-cosign.sh). sid's Release file is often past its Valid-Until date; it is still signed.
  apt_options=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root
    -o Acquire::Check-Valid-Until=false)
  apt-get "${apt_options[@]}" update -qq
  (cd "$work/cache" && apt-get "${apt_options[@]}" download -qq testssl.sh)
  dpkg-deb -x "$work"/cache/testssl.sh_*.deb "$PREFIX"
  # The package looks for its data (cipher mapping, CA stores) in /etc/testssl: point it here.
  printf '#!/bin/sh\nTESTSSL_INSTALL_DIR=%s/etc/testssl exec %s/usr/bin/testssl "$@"\n' \
    "$PREFIX" "$PREFIX" >"$wrapper"
  chmod +x "$wrapper"
fi
"$wrapper" --version >/dev/null || {
  echo "install-testssl: $wrapper does not run" >&2
  exit 1
}
echo "$wrapper"
