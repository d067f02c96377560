# Stand-in for redis:7-bookworm: Debian's Redis 7.0, run like the official image
# (as user redis, data in /data, protected mode off so other containers may connect).
ARG DEBIAN_IMAGE=localbase/debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      redis-server \
      redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data \
 && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
