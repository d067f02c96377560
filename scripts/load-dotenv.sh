# shellcheck shell=bash
# Sourced by Makefile targets: exports the NAME=value lines of .env the way Compose reads them,
# so builds and tests outside Compose see the same PYTHON_IMAGE, REDIS_IMAGE and so on.
# As with Compose, a variable already set in the environment wins over .env.
if [[ -f .env ]]; then
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
      name=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
      if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
      if [[ ! -v $name ]]; then export "$name=$value"; fi
    fi
  done <.env
fi
