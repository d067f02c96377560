# Stand-in for caddy:2-alpine, from Debian's caddy package, keeping the official image's contract:
# caddy on PATH, the configuration at /etc/caddy/Caddyfile, certificates and keys under /data and
# autosaved configuration under /config (XDG_DATA_HOME, XDG_CONFIG_HOME; both volumes), ports 80,
# 443 and 443/udp (HTTP/3) and 2019 (the admin API), and `caddy run` as the command, as root.
ARG DEBIAN_IMAGE=localbase/debian:trixie-slim
FROM ${DEBIAN_IMAGE}
# Debian 13 has Caddy 2.6; the current 2.11 comes from Debian unstable (sid), whose Release file
# is often past its Valid-Until date on mirrors (it is still signed). Unpinned on purpose, as in
# python.Dockerfile: the suite is the pin. ca-certificates: Caddy talks to its ACME CA over HTTPS.
# hadolint ignore=DL3008
RUN echo "deb http://deb.debian.org/debian sid main" >/etc/apt/sources.list.d/sid.list \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends ca-certificates caddy/sid \
 && rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/sid.list \
 && mkdir -p /config/caddy /data/caddy /srv
ENV XDG_CONFIG_HOME=/config \
    XDG_DATA_HOME=/data
VOLUME /config /data
EXPOSE 80 443 443/udp 2019
WORKDIR /srv
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
