# Stand-in for python:3.11-slim-bookworm: Debian's Python 3.11 (at /usr/bin, not /usr/local/bin).
ARG DEBIAN_IMAGE=localbase/debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      python-is-python3 \
      python3 \
      python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV LANG=C.UTF-8
CMD ["python3"]
