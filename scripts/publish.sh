#!/usr/bin/env bash
# Builds the runtime image for every platform in one BuildKit build and pushes one image index as
# [REGISTRY/]USER/dockerapp:<full commit SHA>, with BuildKit's provenance attestation; signs the
# index with cosign, attaches a signed SBOM, and only then adds :latest (on the default branch).
# The last line it prints is `publish: digest sha256:<64 hex>`: deploy that digest, after
# `make verify`. `make publish` runs this; CircleCI and GitHub Actions call that.
#
# Environment (docs/pipeline.md explains each):
#   DOCKER_HUB_USER_ID, DOCKER_HUB_PWD  required; the password may be an access token.
#   DOCKER_HUB_EMAIL   accepted and ignored: `docker login` no longer takes one.
#   REGISTRY           registry host[:port]; empty means Docker Hub.
#   GIT_SHA            commit to publish, which must be the checked-out one; default HEAD.
#   PUSH_LATEST        true|false; default true only when the branch is DEFAULT_BRANCH (main).
#   PLATFORMS          default linux/amd64,linux/arm64; foreign ones build under QEMU.
#   COSIGN_KEY         the cosign private key (PEM), or its path or KMS URI; with COSIGN_PASSWORD.
#                      Unset: keyless signing with the CI's OIDC token (GitHub Actions with
#                      `id-token: write`, or SIGSTORE_ID_TOKEN, which the CircleCI job mints).
#   TRANSPARENCY_LOG   true|false: record the signatures in Sigstore's public Rekor log; default
#                      true, but false for a registry on the loopback address (a local test).
#   PYTHON_IMAGE       base image for the build (e.g. the stand-in from `make base-images`).
#   EXTRA_CA_CERTS     a CA bundle for pip behind a TLS-intercepting proxy (a BuildKit secret).
#   SOURCE_URL         the repository's URL, for the org.opencontainers.image.source label.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE_NAME=dockerapp
DEFAULT_BRANCH=${DEFAULT_BRANCH:-main}
PLATFORMS=${PLATFORMS:-linux/amd64,linux/arm64}
REVISION_LABEL=org.opencontainers.image.revision

die() {
  echo "publish: $*" >&2
  exit 1
}

# ${!name:+set} rather than the value itself, so `bash -x` never prints a secret.
missing=()
for name in DOCKER_HUB_USER_ID DOCKER_HUB_PWD; do
  [[ -n ${!name:+set} ]] || missing+=("$name")
done
((${#missing[@]} == 0)) || die "missing required variable(s): ${missing[*]} (see docs/pipeline.md)"
[[ -z ${RUNTIME_IMAGE:-} ]] ||
  die "RUNTIME_IMAGE is no longer supported: publishing builds the image for every platform itself"

sha=${GIT_SHA:-$(git rev-parse HEAD 2>/dev/null || true)}
[[ $sha =~ ^[0-9a-f]{40}$ ]] ||
  die "GIT_SHA must be a full 40-character commit SHA (default: git rev-parse HEAD), got '$sha'"
# The revision label must describe the sources, so only the checked-out commit is built.
head=$(git rev-parse HEAD 2>/dev/null || true)
[[ $head == "$sha" ]] ||
  die "GIT_SHA $sha is not the checked-out commit ${head:-(no git checkout)}; check it out first"
[[ -z $(git status --porcelain 2>/dev/null) ]] ||
  echo "publish: warning: uncommitted changes are built into the image labelled $sha" >&2

# CI checkouts may be detached, so trust the branch the CI reports before asking git.
branch=${CIRCLE_BRANCH:-${GITHUB_REF_NAME:-$(git symbolic-ref --short -q HEAD || true)}}
if [[ -z ${PUSH_LATEST:-} ]]; then
  PUSH_LATEST=false
  [[ $branch == "$DEFAULT_BRANCH" ]] && PUSH_LATEST=true
fi
[[ $PUSH_LATEST =~ ^(true|false)$ ]] || die "PUSH_LATEST must be true or false, got '$PUSH_LATEST'"
[[ $PLATFORMS =~ ^[a-z0-9]+/[a-z0-9]+(/v[0-9])?(,[a-z0-9]+/[a-z0-9]+(/v[0-9])?)*$ ]] ||
  die "PLATFORMS must be a comma-separated list such as linux/amd64,linux/arm64, got '$PLATFORMS'"

for tool in docker cosign jq python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (docs/pipeline.md lists what publish needs)"
done
docker buildx version >/dev/null 2>&1 ||
  die "the docker buildx plugin is missing (BuildKit builds every platform)"

# How to sign. The key, its password and the OIDC token are never expanded in a traced command:
# cosign reads COSIGN_PASSWORD and SIGSTORE_ID_TOKEN itself, and env://COSIGN_KEY reads the key.
# (Here-strings and redirections are not traced, so the key is only ever looked at through them.)
if [[ -n ${COSIGN_KEY:+set} ]]; then
  [[ -n ${COSIGN_PASSWORD+set} ]] ||
    die "COSIGN_KEY is set but COSIGN_PASSWORD is not (set it, empty for a key without one)"
  if grep -q -- '-----BEGIN' <<<"$COSIGN_KEY"; then
    signing=(--key env://COSIGN_KEY)
  elif grep -qE '^[a-z0-9]+://' <<<"$COSIGN_KEY" || (exec <"$COSIGN_KEY") 2>/dev/null; then
    signing=(--key "$COSIGN_KEY") # a key file, or a KMS URI such as awskms://...
  else
    die "COSIGN_KEY is neither a PEM private key, nor a readable key file, nor a KMS URI"
  fi
elif [[ -n ${ACTIONS_ID_TOKEN_REQUEST_URL:-} || -n ${SIGSTORE_ID_TOKEN:+set} ]]; then
  signing=() # keyless: Fulcio certifies the CI job's OIDC identity for this one signature
else
  die "nothing to sign with: set COSIGN_KEY and COSIGN_PASSWORD, or run in CI with an OIDC token" \
    "(docs/pipeline.md)"
fi

# Docker treats a registry on the loopback address as plain HTTP; so must cosign. Signatures of a
# local test image have no place in the public transparency log, which is unreachable offline.
registry_is_local=false
[[ ${REGISTRY:-} =~ ^(localhost|127\.[0-9.]+|\[::1\])(:[0-9]+)?$ ]] && registry_is_local=true
if [[ -z ${TRANSPARENCY_LOG:-} ]]; then
  TRANSPARENCY_LOG=true
  [[ $registry_is_local == true ]] && TRANSPARENCY_LOG=false
fi
[[ $TRANSPARENCY_LOG =~ ^(true|false)$ ]] ||
  die "TRANSPARENCY_LOG must be true or false, got '$TRANSPARENCY_LOG'"
((${#signing[@]} > 0)) || [[ $TRANSPARENCY_LOG == true ]] ||
  die "keyless signing needs the transparency log (TRANSPARENCY_LOG=true); false works with COSIGN_KEY only"
cosign_options=(--yes)
[[ $registry_is_local == true ]] && cosign_options+=(--allow-http-registry)
[[ $TRANSPARENCY_LOG == false ]] && cosign_options+=(--tlog-upload=false)

build_options=()
if [[ -n ${EXTRA_CA_CERTS:-} ]]; then
  [[ -r $EXTRA_CA_CERTS ]] || die "EXTRA_CA_CERTS names no readable file: $EXTRA_CA_CERTS"
  build_options+=(--secret "id=extra_ca,src=$EXTRA_CA_CERTS")
fi

repository=${REGISTRY:+$REGISTRY/}$DOCKER_HUB_USER_ID/$IMAGE_NAME
tags=("$repository:$sha")
[[ $PUSH_LATEST == true ]] && tags+=("$repository:latest")

# A throwaway client config keeps this login out of ~/.docker/config.json. It has no contexts,
# so first pin the engine that the user's current context points at; and it has no builders,
# so keep the caller's buildx state (the builder that `docker buildx use` or CI chose).
caller_config=${DOCKER_CONFIG:-$HOME/.docker}
if [[ -z ${BUILDX_CONFIG:-} && -d $caller_config/buildx ]]; then
  export BUILDX_CONFIG=$caller_config/buildx
fi
if [[ -z ${DOCKER_HOST:-} ]]; then
  DOCKER_HOST=$(docker context inspect --format '{{.Endpoints.docker.Host}}')
  export DOCKER_HOST
fi
unset DOCKER_CONTEXT
work=$(mktemp -d)
export DOCKER_CONFIG=$work/docker-config
trap 'docker logout ${REGISTRY:+"$REGISTRY"} >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# Log in before building, so base-image pulls are authenticated too (Docker Hub rate limits).
# printenv hands the password to stdin without the shell expanding it into a traced command.
printenv DOCKER_HUB_PWD | docker login ${REGISTRY:+"$REGISTRY"} -u "$DOCKER_HUB_USER_ID" --password-stdin ||
  die "docker login to ${REGISTRY:-Docker Hub} as $DOCKER_HUB_USER_ID failed" \
    "(check DOCKER_HUB_USER_ID and DOCKER_HUB_PWD); nothing was pushed"

# A local base image (the stand-ins of `make base-images`) that lacks one of the platforms would
# fail deep in the build with "no match for platform in manifest"; name the fix instead. Images
# that are not local are left to the build, which resolves them in their registry.
if [[ -n ${PYTHON_IMAGE:-} ]] && docker image inspect "$PYTHON_IMAGE" >/dev/null 2>&1; then
  for platform in ${PLATFORMS//,/ }; do
    docker image inspect --platform "$platform" "$PYTHON_IMAGE" >/dev/null 2>&1 && continue
    fix="pull or build it for $platform"
    [[ $PYTHON_IMAGE == localbase/* ]] && fix="run BASE_PLATFORMS=$PLATFORMS make base-images"
    die "PYTHON_IMAGE $PYTHON_IMAGE has no $platform variant: $fix"
  done
fi

# BuildKit's own SBOM generator (--sbom=true) runs a scanner image that must be pulled; our
# SBOM comes from scripts/sbom.py instead, and is signed. Provenance needs no image.
docker buildx build --platform "$PLATFORMS" --target runtime \
  --provenance=mode=max --sbom=false \
  ${PYTHON_IMAGE:+--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE"} \
  ${SOURCE_URL:+--build-arg "SOURCE_URL=$SOURCE_URL"} \
  --build-arg "GIT_REVISION=$sha" \
  --build-arg "VERSION=$(git describe --tags --always "$sha" 2>/dev/null || echo "$sha")" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "${build_options[@]}" \
  --metadata-file "$work/build.json" --push --tag "$repository:$sha" . ||
  die "building or pushing $repository:$sha for $PLATFORMS failed"
digest=$(jq -r '."containerimage.digest" // empty' "$work/build.json")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "the build reported no image digest (got '$digest')"
image=$repository@$digest

# Checked on what was pushed, for each platform: the Dockerfile really stamps the revision.
# (imagetools prints a map by platform for several images, the bare config for one.)
wrong=$(docker buildx imagetools inspect "$image" --format '{{json .Image}}' |
  jq -r --arg only "$PLATFORMS" --arg key "$REVISION_LABEL" --arg sha "$sha" \
    'if has("rootfs") then {($only): .} else . end | to_entries[]
     | select(.value.config.Labels[$key] != $sha) | "\(.key): \(.value.config.Labels[$key])"') ||
  die "cannot read the pushed index $image back from the registry"
[[ -z $wrong ]] || die "$image has $REVISION_LABEL other than $sha ($wrong); it was not signed"

python3 scripts/sbom.py "$image" >"$work/sbom.cdx.json" || die "generating the SBOM of $image failed"
# The signature's annotation records the commit, so `make verify` knows which one to expect.
cosign sign "${cosign_options[@]}" "${signing[@]}" -a "$REVISION_LABEL=$sha" "$image" ||
  die "signing $image failed; it stays unsigned under :$sha and :latest was not moved"
cosign attest "${cosign_options[@]}" "${signing[@]}" --type cyclonedx \
  --predicate "$work/sbom.cdx.json" "$image" ||
  die "attaching the SBOM to $image failed; :latest was not moved"

# A registry-side copy of the very same index: :latest gets the digest that was just signed.
if [[ $PUSH_LATEST == true ]]; then
  docker buildx imagetools create --tag "$repository:latest" "$image" ||
    die "tagging $image as :latest failed"
fi
echo "publish: pushed ${tags[*]} for $PLATFORMS, signed, with provenance and SBOM"
echo "publish: digest $digest"
