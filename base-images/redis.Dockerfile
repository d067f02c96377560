# Stand-in for redis:8-trixie: Debian 13's Redis 8, run like the official image (user redis with the
# official UID 999, data in /data, arguments passed through, protected mode off). Like the official
# image it runs Sentinel too: `redis-sentinel` (Debian's package) or `redis-server --sentinel`.
ARG DEBIAN_IMAGE=localbase/debian:trixie-slim
FROM ${DEBIAN_IMAGE}
# The account comes first so that the package keeps the official image's IDs instead of picking
# its own. Unpinned on purpose (see python.Dockerfile); the suite is the pin.
# hadolint ignore=DL3008
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid redis --home-dir /var/lib/redis --no-create-home redis \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      redis-sentinel \
      redis-server \
      redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data \
 && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
