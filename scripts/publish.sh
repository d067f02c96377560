#!/usr/bin/env bash
# Pushes the runtime image as [REGISTRY/]USER/dockerapp:<full commit SHA>, plus :latest when the
# build is on the default branch. `make publish` runs this; CircleCI and GitHub Actions call that.
#
# Environment (docs/pipeline.md explains each):
#   DOCKER_HUB_USER_ID, DOCKER_HUB_PWD  required; the password may be an access token.
#   DOCKER_HUB_EMAIL                    accepted and ignored: `docker login` no longer takes one.
#   REGISTRY        registry host[:port]; empty means Docker Hub.
#   GIT_SHA         commit to publish; default `git rev-parse HEAD`.
#   PUSH_LATEST     true|false; default true only when the branch is DEFAULT_BRANCH (main).
#   RUNTIME_IMAGE   an existing runtime image to push instead of building one; it must carry
#                   org.opencontainers.image.revision=GIT_SHA.
#   PYTHON_IMAGE    base image for the build (e.g. the stand-in from `make base-images`).
#   SOURCE_URL      the repository's URL, for the org.opencontainers.image.source label.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE_NAME=dockerapp
DEFAULT_BRANCH=${DEFAULT_BRANCH:-main}
REVISION_LABEL=org.opencontainers.image.revision

die() {
  echo "publish: $*" >&2
  exit 1
}

# ${!name:+set} rather than the value itself, so `bash -x` never prints the password.
missing=()
for name in DOCKER_HUB_USER_ID DOCKER_HUB_PWD; do
  [[ -n ${!name:+set} ]] || missing+=("$name")
done
((${#missing[@]} == 0)) || die "missing required variable(s): ${missing[*]} (see docs/pipeline.md)"

sha=${GIT_SHA:-$(git rev-parse HEAD 2>/dev/null || true)}
[[ $sha =~ ^[0-9a-f]{40}$ ]] || die "GIT_SHA must be a full 40-character commit SHA (default: git rev-parse HEAD), got '$sha'"

# CI checkouts may be detached, so trust the branch the CI reports before asking git.
branch=${CIRCLE_BRANCH:-${GITHUB_REF_NAME:-$(git symbolic-ref --short -q HEAD || true)}}
if [[ -z ${PUSH_LATEST:-} ]]; then
  PUSH_LATEST=false
  [[ $branch == "$DEFAULT_BRANCH" ]] && PUSH_LATEST=true
fi
[[ $PUSH_LATEST =~ ^(true|false)$ ]] || die "PUSH_LATEST must be true or false, got '$PUSH_LATEST'"

repository=${REGISTRY:+$REGISTRY/}$DOCKER_HUB_USER_ID/$IMAGE_NAME
tags=("$repository:$sha")
[[ $PUSH_LATEST == true ]] && tags+=("$repository:latest")

# A throwaway client config keeps this login out of ~/.docker/config.json. It has no contexts,
# so first pin the engine that the user's current context points at.
if [[ -z ${DOCKER_HOST:-} ]]; then
  DOCKER_HOST=$(docker context inspect --format '{{.Endpoints.docker.Host}}')
  export DOCKER_HOST
fi
unset DOCKER_CONTEXT
DOCKER_CONFIG=$(mktemp -d)
export DOCKER_CONFIG
trap 'docker logout ${REGISTRY:+"$REGISTRY"} >/dev/null 2>&1 || true; rm -rf "$DOCKER_CONFIG"' EXIT

# Log in before building, so base-image pulls are authenticated too (Docker Hub rate limits).
# printenv hands the password to stdin without the shell expanding it into a traced command.
printenv DOCKER_HUB_PWD | docker login ${REGISTRY:+"$REGISTRY"} -u "$DOCKER_HUB_USER_ID" --password-stdin ||
  die "docker login to ${REGISTRY:-Docker Hub} as $DOCKER_HUB_USER_ID failed" \
    "(check DOCKER_HUB_USER_ID and DOCKER_HUB_PWD); nothing was pushed"

if [[ -n ${RUNTIME_IMAGE:-} ]]; then
  image=$RUNTIME_IMAGE
else
  # The label must describe the sources, so only the checked-out commit is built.
  head=$(git rev-parse HEAD 2>/dev/null || true)
  [[ -z $head || $head == "$sha" ]] ||
    die "GIT_SHA $sha is not the checked-out commit $head; check it out, or pass RUNTIME_IMAGE built from it"
  [[ -z $(git status --porcelain 2>/dev/null) ]] ||
    echo "publish: warning: uncommitted changes are built into the image labelled $sha" >&2
  image=${tags[0]}
  # The classic builder is the one every Docker client has (BuildKit needs the buildx plugin).
  DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build --target runtime \
    ${PYTHON_IMAGE:+--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE"} \
    ${SOURCE_URL:+--build-arg "SOURCE_URL=$SOURCE_URL"} \
    --build-arg "GIT_REVISION=$sha" \
    --build-arg "VERSION=$(git describe --tags --always "$sha" 2>/dev/null || echo "$sha")" \
    --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -t "$image" .
fi

# Checked for built images too: it proves the Dockerfile really stamps the revision.
label=$(docker image inspect --format "{{index .Config.Labels \"$REVISION_LABEL\"}}" "$image") ||
  die "no local image $image"
[[ $label == "$sha" ]] || die "$image has $REVISION_LABEL='$label', not $sha; refusing to push it as $sha"

for tag in "${tags[@]}"; do
  docker tag "$image" "$tag"
  docker push "$tag"
done
echo "publish: pushed ${tags[*]}"
