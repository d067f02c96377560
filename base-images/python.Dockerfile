# Stand-in for python:3.X-slim-<suite>, from Debian's packages, keeping the official image's contract:
# python, python3 and pip on PATH in /usr/local/bin, a working venv, pip installs allowed (no
# EXTERNALLY-MANAGED marker), the C.UTF-8 locale, `python3` as the command. Debian disables
# ensurepip for its system Python, so pip is installed from the wheel that python3-venv carries.
ARG DEBIAN_IMAGE=localbase/debian:trixie-slim
FROM ${DEBIAN_IMAGE}
ARG PYTHON_VERSION=3.13
# Debian 13 ships Python 3.13 (and Debian 12, on DEBIAN_IMAGE=localbase/debian:bookworm-slim,
# 3.11). The current line, 3.14, comes from Debian unstable (sid) together with the newer
# libraries it was built against (glibc among them); the rest of the system stays Debian 13.
# sid's Release file is often past its Valid-Until date on mirrors; it is still signed. (On
# bookworm the extra list repeats the base's own: apt warns and goes on.)
ARG PYTHON_SUITE=trixie
# Unpinned on purpose: the mirror keeps only the current version of each package, so a pinned
# version would stop building at the next point release. The suite is the pin.
# hadolint ignore=DL3008
RUN if [ "$PYTHON_SUITE" != trixie ]; then \
      echo "deb http://deb.debian.org/debian $PYTHON_SUITE main" >/etc/apt/sources.list.d/python.list; \
    fi \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends -t "$PYTHON_SUITE" \
      ca-certificates \
      "python$PYTHON_VERSION" \
      "python$PYTHON_VERSION-venv" \
 && rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/python.list \
 && rm -f "/usr/lib/python$PYTHON_VERSION/EXTERNALLY-MANAGED" \
 && pip_wheel=$(echo /usr/share/python-wheels/pip-*.whl) \
 && "python$PYTHON_VERSION" "$pip_wheel/pip" install --no-cache-dir --no-index "$pip_wheel" \
 && for name in python python3; do ln -s "/usr/bin/python$PYTHON_VERSION" "/usr/local/bin/$name"; done
ENV LANG=C.UTF-8
CMD ["python3"]
