# dockerapp image. Stages:
#   builder  installs the dependencies (the only stage that uses the network and the optional extra CA)
#   runtime  the production image: Python, the runtime venv, the app; no pip, compilers or tests
#   test     runtime + test dependencies + tests, so tests run on exactly the layers that ship
#   dev      test, with the code owned by the app user so `docker compose watch` can sync edits in
# The unnamed last stage re-exports runtime unchanged: a plain `docker build .` gives the
# production image, and `--target runtime` gives the very same image ID.

# The official image, pinned to an exact tag: the current Python line on Debian 13. Without a
# registry, `make base-images` builds a stand-in from Debian packages; pass it as PYTHON_IMAGE
# (build arg, or .env for Compose). The suite also runs on 3.13 (docs/containers.md).
ARG PYTHON_IMAGE=python:3.14.8-slim-trixie

FROM ${PYTHON_IMAGE} AS builder
# binutils, for strip: wheels such as hiredis ship their C extension with debug symbols (0.8 MB
# of its 0.9 MB) that nothing at runtime reads. Unpinned: a build tool whose version never
# reaches the runtime image.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt requirements-dev.txt ./
# A venv behaves the same on the official image and on Debian's Python. Test dependencies go to
# their own directory for the test stage. pip and setuptools leave the venv at the end: the
# runtime needs neither, nor WTForms' message catalogs in 40 languages (0.3 MB): Flask-WTF is
# here for its CSRF check, which never shows them.
# - The wheels are downloaded into a cache mount and installed from there: a changed
#   requirement downloads only what changed ("File was already downloaded" for the rest), and
#   the wheels never become part of a layer. A wheelhouse rather than pip's HTTP cache, which
#   depends on caching headers that proxies may strip.
# - extra_ca is an optional BuildKit secret: the CA bundle of a TLS-intercepting proxy, for pip
#   (EXTRA_CA_CERTS in .env.example). It is mounted for this step only: in no layer, no cache.
RUN --mount=type=cache,target=/root/.cache/wheels,sharing=locked \
    --mount=type=secret,id=extra_ca,required=false \
    if [ -s /run/secrets/extra_ca ]; then export PIP_CERT=/run/secrets/extra_ca; fi \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip download --disable-pip-version-check --no-cache-dir --require-hashes \
      --dest /root/.cache/wheels -r requirements.txt -r requirements-dev.txt \
 && /opt/venv/bin/pip install --disable-pip-version-check --no-cache-dir --require-hashes \
      --no-index --find-links /root/.cache/wheels -r requirements.txt \
 && /opt/venv/bin/pip install --disable-pip-version-check --no-cache-dir --require-hashes \
      --no-index --find-links /root/.cache/wheels --target /opt/test-packages -r requirements-dev.txt \
 && /opt/venv/bin/pip uninstall --yes pip setuptools \
 && rm -r /opt/venv/lib/python3*/site-packages/wtforms/locale \
 && find /opt/venv -name '*.so' -exec strip --strip-unneeded {} +


FROM ${PYTHON_IMAGE} AS runtime
# A fixed UID: volume ownership and Kubernetes' runAsNonRoot can rely on it, and 10001 is above
# the range distributions hand out, so it matches no account on the host.
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid app --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
# PROMETHEUS_MULTIPROC_DIR sits under /tmp, the one writable place of a read-only container
# (prod.yml mounts a tmpfs there); gunicorn.conf.py creates and empties it at startup.
ENV PATH=/opt/venv/bin:$PATH \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER 10001:10001
EXPOSE 5000
# The slim image has no curl; Python is already there. /healthz makes no Redis call, so a Redis
# outage never gets the app container restarted (/readyz is the readiness signal).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '5000'), timeout=2)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py"]
# Build metadata changes with every commit, as the code does, so it sits just above the code.
ARG CREATED=unknown GIT_REVISION=unknown SOURCE_URL=unknown VERSION=dev
LABEL org.opencontainers.image.created=$CREATED \
      org.opencontainers.image.revision=$GIT_REVISION \
      org.opencontainers.image.source=$SOURCE_URL \
      org.opencontainers.image.title=dockerapp \
      org.opencontainers.image.version=$VERSION
ENV APP_VERSION=$VERSION \
    GIT_REVISION=$GIT_REVISION
# Code last, owned by root (the app cannot rewrite itself): a code change rebuilds only this.
COPY gunicorn.conf.py ./
COPY app/ app/


FROM runtime AS test
# A Redis server of the tests' own (Debian's, with Sentinel in the same binary): the replication
# and Sentinel tests start a replica and Sentinels next to the suite's Redis. Test image only.
USER 0
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
USER 10001:10001
COPY --from=builder /opt/test-packages /opt/test-packages
# The app user cannot write to /app, so the test tools keep their caches under /tmp.
ENV HYPOTHESIS_STORAGE_DIRECTORY=/tmp/hypothesis \
    PYTEST_ADDOPTS="-o cache_dir=/tmp/pytest-cache" \
    PYTHONPATH=/opt/test-packages
COPY pyproject.toml test.py ./
COPY tests/app/ tests/app/


FROM test AS dev
# Compose watch copies edited files in as the container's user, so in development (only) the code
# and the tests belong to the app user. gunicorn --reload (docker-compose.yml) picks them up.
COPY --chown=10001:10001 app/ app/
COPY --chown=10001:10001 tests/app/ tests/app/


# Last, so that a plain `docker build .` gives the production image: runtime, unchanged.
FROM runtime
