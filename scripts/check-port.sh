#!/usr/bin/env bash
# One-line diagnosis before `make up`/`make watch` when the development port is taken, instead of
# Compose's "address already in use" after the build. The usual culprit on macOS 12+ is the
# AirPlay Receiver, which listens on port 5000 (its process is ControlCenter).
#   DOCKERAPP_PORT  the host port docker-compose.yml publishes on 127.0.0.1 (default 5000)
set -euo pipefail
port=${DOCKERAPP_PORT:-5000}
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((port < 1 || port > 65535)); then
  echo "dockerapp: DOCKERAPP_PORT must be a port number (1-65535), got '$port'" >&2
  exit 1
fi

# Connecting says whether anything listens (a wildcard listener such as AirPlay's included).
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || exit 0
# Our own stack, already up, may hold it: then `up` only updates it.
[[ $(docker compose port dockerapp 5000 2>/dev/null) == "127.0.0.1:$port" ]] && exit 0

# Who listens: lsof (macOS, most Linux), else ss (iproute2). Either may see no process name
# for another user's process without root.
holder=
if command -v lsof >/dev/null; then
  holder=$(lsof -nP -iTCP:"$port" -sTCP:LISTEN -Fpc 2>/dev/null |
    sed -n 's/^p//p; s/^c//p' | paste -sd ' ' - | awk '{print $2 " (pid " $1 ")"; exit}') || true
fi
if [[ -z $holder ]] && command -v ss >/dev/null; then
  holder=$(ss -Hltnp "sport = :$port" 2>/dev/null |
    sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n 1) || true
fi
what=${holder:-another process}
[[ $holder == ControlCe* || $holder == AirPlay* ]] && what="$holder, the macOS AirPlay Receiver"
echo "dockerapp: port $port is taken by $what: set DOCKERAPP_PORT to a free port in .env" \
  "(e.g. DOCKERAPP_PORT=8000), or stop that process" >&2
exit 1
