# The test's image registry: Debian's packaging of the Distribution registry (the software behind
# Docker Hub's API), so the swarm pulls images the way a real one does, by tag and digest.
ARG DEBIAN_IMAGE=debian:trixie-slim
FROM ${DEBIAN_IMAGE}
# Unpinned like base-images/: the release (trixie) is the pin; its mirror keeps one version.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-registry \
 && rm -rf /var/lib/apt/lists/*
COPY registry.yml /etc/docker/registry/config.yml
EXPOSE 5000
CMD ["docker-registry", "serve", "/etc/docker/registry/config.yml"]
