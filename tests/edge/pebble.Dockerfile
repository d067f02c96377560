# Test-only: Pebble, Let's Encrypt's ACME test server, from Debian's package, as a real CA for
# tests/edge. It issues from a root and intermediate it makes at each start (fetched from its
# management API at /roots/0) and validates challenges for real, over the test's network.
ARG DEBIAN_IMAGE=debian:trixie-slim
FROM ${DEBIAN_IMAGE}
# Debian 13 has no pebble: it comes from Debian unstable (sid), whose Release file is often past
# its Valid-Until date on mirrors (it is still signed). Unpinned, as in base-images/.
# hadolint ignore=DL3008
RUN echo "deb http://deb.debian.org/debian sid main" >/etc/apt/sources.list.d/sid.list \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends pebble/sid \
 && rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/sid.list
# pebble-config.json: challenges checked on the real ports 80 and 443, and an OCSP URL written into
# each certificate, as Let's Encrypt writes a revocation URL (a CRL's) into its own: without one,
# testssl.sh would grade the test CA's bare profile (HIGH), not the server. Nothing answers it;
# testssl.sh does not call out, and Caddy only logs that it could not staple a response.
COPY pebble-config.json /etc/pebble/pebble-config.json
# No artificial pauses before validating a challenge: the test waits for nothing but the work.
ENV PEBBLE_VA_NOSLEEP=1
EXPOSE 14000 15000
# 127.0.0.11 is Docker's resolver on a user-defined network: it knows the proxy's network alias,
# so Pebble validates DOMAIN by connecting to the proxy container, as Let's Encrypt would.
CMD ["pebble", "-config", "/etc/pebble/pebble-config.json", "-dnsserver", "127.0.0.11:53"]
