#!/usr/bin/env bash
# Installs cosign 2.5 from Debian 13 (trixie)'s package into /opt/cosign and prints the binary's
# path, for Debian 12 CI machines, whose own archive has no cosign; the binary needs GLIBC 2.34,
# which Debian 12 has. Ubuntu works too, once `apt-get install debian-archive-keyring` has put
# Debian's keys in place. Where cosign is already installed there, this only prints the path.
#   COSIGN_PREFIX  where to unpack; default /opt/cosign.
#   DEBIAN_MIRROR  the Debian mirror; default deb.debian.org.
set -euo pipefail
PREFIX=${COSIGN_PREFIX:-/opt/cosign}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
binary=$PREFIX/usr/bin/cosign

if [[ ! -x $binary ]]; then
  [[ -r $KEYRING ]] || {
    echo "install-cosign: $KEYRING is missing (apt-get install debian-archive-keyring)" >&2
    exit 1
  }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb [signed-by=$KEYRING] $MIRROR trixie main" >"$work/sources.list"
  # A private apt state, so the host's own sources and package lists are left as they are. It
  # sits in a 0700 temp dir that apt's _apt user cannot enter, so apt downloads as root.
  apt_options=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_options[@]}" update -qq
  (cd "$work/cache" && apt-get "${apt_options[@]}" download -qq cosign)
  dpkg-deb -x "$work"/cache/cosign_*.deb "$PREFIX"
fi
"$binary" version >/dev/null || {
  echo "install-cosign: $binary does not run" >&2
  exit 1
}
echo "$binary"
