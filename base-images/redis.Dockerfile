# Stand-in for redis:7-bookworm: Debian's Redis 7.0, run like the official image
# (as user redis, data in /data, protected mode off so other containers may connect).
ARG DEBIAN_IMAGE=localbase/debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
# Unpinned on purpose: bookworm's mirror keeps only the current version of each package, so a
# pinned version would stop building at the next point release. The release (bookworm) is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      redis-server \
      redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data \
 && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
# Debian picks the redis UID at install time, so only the name is stable.
# hadolint ignore=DL3066
USER redis
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
