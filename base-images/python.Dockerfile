# Stand-in for python:3.11-slim-bookworm: Debian's Python 3.11 (at /usr/bin, not /usr/local/bin).
ARG DEBIAN_IMAGE=localbase/debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
# Unpinned on purpose: bookworm's mirror keeps only the current version of each package, so a
# pinned version would stop building at the next point release. The release (bookworm) is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      python-is-python3 \
      python3 \
      python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV LANG=C.UTF-8
CMD ["python3"]
