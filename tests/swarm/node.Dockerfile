# A Swarm node for the test: a current Docker engine inside a container (docker-in-docker), so a
# 3-node swarm fits on one machine. Only `make swarm-test` uses it; real swarms run on real hosts.
ARG DEBIAN_IMAGE=debian:trixie-slim
FROM ${DEBIAN_IMAGE}
# The same engine as CI's host (28.5, from Debian unstable; Debian 13's own is 26.1), storing
# images in containerd as Docker 29 does by default. Unpinned like base-images/: the suite is the
# pin. sid's Release file is often past its Valid-Until date on mirrors; it is still signed.
# hadolint ignore=DL3008
RUN echo "deb http://deb.debian.org/debian sid main" >/etc/apt/sources.list.d/sid.list \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t sid \
      ca-certificates \
      docker-cli \
      docker.io \
      iproute2 \
      iptables \
      procps \
 && rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/sid.list \
 && mkdir -p /etc/docker \
 && echo '{"features": {"containerd-snapshotter": true}}' >/etc/docker/daemon.json
# The inner engine's images and containers; a volume because overlay2 cannot nest on overlay2.
VOLUME /var/lib/docker
COPY node-entrypoint.sh /usr/local/bin/node-entrypoint.sh
ENTRYPOINT ["node-entrypoint.sh"]
