# A Swarm node for the test: Debian's Docker engine inside a container (docker-in-docker), so a
# 3-node swarm fits on one machine. Only `make swarm-test` uses it; real swarms run on real hosts.
ARG DEBIAN_IMAGE=debian:12.8-slim
FROM ${DEBIAN_IMAGE}
# Unpinned like base-images/: the release (bookworm) is the pin; its mirror keeps one version.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      docker.io \
      iproute2 \
      iptables \
      procps \
 && rm -rf /var/lib/apt/lists/*
# The inner engine's images and containers; a volume because overlay2 cannot nest on overlay2.
VOLUME /var/lib/docker
COPY node-entrypoint.sh /usr/local/bin/node-entrypoint.sh
ENTRYPOINT ["node-entrypoint.sh"]
