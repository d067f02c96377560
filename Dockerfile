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

# The builder runs on the build machine's own platform whatever the target: it only unpacks wheels
# that uv picks for the target platform, so none of its steps runs under QEMU, even when amd64 and
# arm64 are built at once (`make publish`). Its Python comes from the same image tag as the
# runtime's, so the venv's interpreter path (symlinks, pyvenv.cfg) and Python version match the
# target's, and the bytecode it compiles is the bytecode the target's Python reads.
FROM --platform=$BUILDPLATFORM ${PYTHON_IMAGE} AS builder
WORKDIR /build
# uv from PyPI, pinned with its hashes (requirements-build.txt) and installed by pip, which checks
# them. Not the ghcr.io/astral-sh/uv image: PyPI is the one registry every build of this image
# reaches already (behind a proxy or without Docker Hub, as on this project's CI machines).
# - extra_ca is an optional BuildKit secret: the CA bundle of a TLS-intercepting proxy
#   (EXTRA_CA_CERTS in .env.example), mounted for one step at a time: in no layer, no cache.
COPY requirements-build.txt ./
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=extra_ca,required=false \
    if [ -s /run/secrets/extra_ca ]; then export PIP_CERT=/run/secrets/extra_ca; fi \
 && python -m venv /opt/uv \
 && /opt/uv/bin/pip install --disable-pip-version-check --require-hashes --only-binary :all: \
      -r requirements-build.txt
COPY requirements.txt ./
# The runtime venv (without pip: nothing installs at runtime). uv checks every hash, takes only
# wheels built for the target (--only-binary: a missing wheel fails the build instead of compiling C under the wrong
# platform), and compiles the bytecode now, so no worker compiles it at startup, and none could
# write it into a read-only container anyway. WTForms' message catalogs in 40 languages (0.3 MB)
# go: Flask-WTF is here for its CSRF check, which never shows them.
# - Wheels come from uv's cache, a BuildKit cache mount: a changed requirement downloads only what
#   changed, and no wheel becomes part of a layer. uv reads the extra CA from SSL_CERT_FILE.
# - The compiled extensions are not stripped: measured, their debug symbols are 0.4 MB of the
#   compressed image (docs/containers.md), and a strip for the target's architecture would cost
#   a cross binutils in every cold build.
# - The install settings (the target's wheel platform and Python version, wheels only, hashes,
#   bytecode) go in uv's config file, so that the test stage's install below uses the very same.
ARG TARGETARCH
ENV UV_CONFIG_FILE=/build/uv.toml \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=extra_ca,required=false \
    if [ -s /run/secrets/extra_ca ]; then export SSL_CERT_FILE=/run/secrets/extra_ca; fi \
 && case "$TARGETARCH" in \
      amd64) machine=x86_64 ;; \
      arm64) machine=aarch64 ;; \
      *) echo "builder: no wheel platform known for TARGETARCH=$TARGETARCH" >&2; exit 1 ;; \
    esac \
 && version="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
 && printf '%s\n' '[pip]' "python-platform = \"$machine-unknown-linux-gnu\"" \
      "python-version = \"$version\"" 'only-binary = [":all:"]' \
      'require-hashes = true' 'compile-bytecode = true' > "$UV_CONFIG_FILE" \
 && python -m venv --without-pip /opt/venv \
 && /opt/uv/bin/uv pip install --python /opt/venv/bin/python -r requirements.txt \
 && rm -r /opt/venv/lib/python3*/site-packages/wtforms/locale


# The test dependencies, on the build platform too, in a stage of their own: a build of the runtime
# image (`make build`, `make publish`) never installs or compiles them, and a change to them
# rebuilds only this stage. The same cache mount: a wheel is downloaded once for every stage.
FROM builder AS test-packages
COPY requirements-dev.txt ./
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=extra_ca,required=false \
    if [ -s /run/secrets/extra_ca ]; then export SSL_CERT_FILE=/run/secrets/extra_ca; fi \
 && /opt/uv/bin/uv pip install --python /opt/venv/bin/python --target /opt/test-packages \
      -r requirements-dev.txt


# The app's account, made on the build platform as well: useradd edits four files under --prefix
# and runs nothing of the target's, so a two-platform build runs no step at all under QEMU. The
# files start as the target base image's own, so the image keeps every account the base has.
FROM ${PYTHON_IMAGE} AS base-accounts
FROM --platform=$BUILDPLATFORM ${PYTHON_IMAGE} AS accounts
COPY --from=base-accounts /etc/passwd /etc/group /etc/shadow /etc/gshadow /accounts/etc/
# A fixed UID: volume ownership and Kubernetes' runAsNonRoot can rely on it, and 10001 is above
# the range distributions hand out, so it matches no account on the host.
RUN groupadd --prefix /accounts --gid 10001 app \
 && useradd --prefix /accounts --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin app


FROM base-accounts AS runtime
COPY --from=accounts /accounts/etc/ /etc/
COPY --from=builder /opt/venv /opt/venv
# PROMETHEUS_MULTIPROC_DIR sits under /tmp, the one writable place of a read-only container
# (prod.yml mounts a tmpfs there); gunicorn.conf.py creates and empties it at startup.
# PYTHONDONTWRITEBYTECODE stops Python writing .pyc files, not reading them: it reads the venv's,
# compiled in the builder, and compiles only the app's few modules, in memory.
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
COPY --from=test-packages /opt/test-packages /opt/test-packages
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
