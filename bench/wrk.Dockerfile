# The load generator of bench/containers.py: wrk, run as a container on the network of the
# stack it measures, so no published port, docker-proxy or host TIME_WAIT is in the way.
# On the app's own base image (Debian 13), so the benchmark needs no other base: PYTHON_IMAGE
# names it, as for the app.
ARG PYTHON_IMAGE=python:3.14.8-slim-trixie
FROM ${PYTHON_IMAGE}
# Unpinned: a benchmark tool that never reaches the app's image.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends wrk \
 && rm -rf /var/lib/apt/lists/*
USER 65534:65534
ENTRYPOINT ["wrk"]
