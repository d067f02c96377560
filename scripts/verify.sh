#!/usr/bin/env bash
# Checks a pushed dockerapp image before it is deployed, and exits 0 only when every check passes:
#   signature   cosign verifies the index's signature (a key pair, or the CI job's identity)
#   platforms   the index holds an image for each of PLATFORMS
#   revision    each image's org.opencontainers.image.revision is the commit it was published for
#   provenance  each image carries BuildKit's provenance attestation
#   sbom        a signed CycloneDX SBOM lists, for each platform, flask, redis and gunicorn at the
#               versions requirements.txt pins at that commit
# Each check prints one line, "verify: ok ..." or "verify: FAILED ...", naming what failed.
#
#   scripts/verify.sh REFERENCE        (make verify IMAGE=REFERENCE; a tag or @sha256: digest)
#
# Environment (docs/pipeline.md explains each):
#   COSIGN_PUBLIC_KEY   the public key (PEM) or its path or KMS URI, for key-pair signatures; or
#   COSIGN_CERTIFICATE_IDENTITY (or COSIGN_CERTIFICATE_IDENTITY_REGEXP) and
#   COSIGN_CERTIFICATE_OIDC_ISSUER      the CI job that signed keyless.
#   GIT_SHA             the commit expected; default: the tag, if it is a full SHA, else the
#                       commit the signature names.
#   PLATFORMS           default linux/amd64,linux/arm64.
#   TRANSPARENCY_LOG    true|false, as for publish.sh: default false for a registry on loopback.
# Registry credentials are the caller's own (`docker login`, DOCKER_CONFIG).
set -euo pipefail
cd "$(dirname "$0")/.."

PLATFORMS=${PLATFORMS:-linux/amd64,linux/arm64}
REVISION_LABEL=org.opencontainers.image.revision
PINNED_PACKAGES=(flask redis gunicorn)

die() {
  echo "verify: $*" >&2
  exit 2
}
failed_checks=()
ok() { echo "verify: ok     $1: $2"; }
failed() {
  echo "verify: FAILED $1: $2" >&2
  failed_checks+=("$1")
}

[[ $# == 1 && -n $1 ]] || die "usage: scripts/verify.sh REPOSITORY:TAG|REPOSITORY@sha256:DIGEST (make verify IMAGE=...)"
reference=$1
for tool in docker cosign jq git; do
  command -v "$tool" >/dev/null || die "$tool is not installed (docs/pipeline.md lists what verifying needs)"
done

# Whom to trust. A public key is not secret, but it may be long: pass it by name, as publish.sh
# passes the private key.
if [[ -n ${COSIGN_PUBLIC_KEY:-} ]]; then
  if grep -q -- '-----BEGIN' <<<"$COSIGN_PUBLIC_KEY"; then
    trust=(--key env://COSIGN_PUBLIC_KEY)
  else
    trust=(--key "$COSIGN_PUBLIC_KEY")
  fi
  signer="the key in COSIGN_PUBLIC_KEY"
elif [[ -n ${COSIGN_CERTIFICATE_OIDC_ISSUER:-} && -n ${COSIGN_CERTIFICATE_IDENTITY:-} ]]; then
  trust=(--certificate-identity "$COSIGN_CERTIFICATE_IDENTITY"
    --certificate-oidc-issuer "$COSIGN_CERTIFICATE_OIDC_ISSUER")
  signer="$COSIGN_CERTIFICATE_IDENTITY"
elif [[ -n ${COSIGN_CERTIFICATE_OIDC_ISSUER:-} && -n ${COSIGN_CERTIFICATE_IDENTITY_REGEXP:-} ]]; then
  trust=(--certificate-identity-regexp "$COSIGN_CERTIFICATE_IDENTITY_REGEXP"
    --certificate-oidc-issuer "$COSIGN_CERTIFICATE_OIDC_ISSUER")
  signer="an identity matching $COSIGN_CERTIFICATE_IDENTITY_REGEXP"
else
  die "say whom to trust: COSIGN_PUBLIC_KEY, or COSIGN_CERTIFICATE_IDENTITY and COSIGN_CERTIFICATE_OIDC_ISSUER"
fi

# The repository, its registry and the tag, from REFERENCE (Docker's rules: a first path part
# with a dot or a colon, or "localhost", is a registry host).
repository=${reference%@*}
tag=
[[ ${repository##*/} == *:* ]] && tag=${repository##*:} && repository=${repository%:*}
registry=docker.io
[[ $repository == */* && ${repository%%/*} =~ [.:]|^localhost$ ]] && registry=${repository%%/*}
registry_is_local=false
[[ $registry =~ ^(localhost|127\.[0-9.]+|\[::1\])(:[0-9]+)?$ ]] && registry_is_local=true
if [[ -z ${TRANSPARENCY_LOG:-} ]]; then
  TRANSPARENCY_LOG=true
  [[ $registry_is_local == true ]] && TRANSPARENCY_LOG=false
fi
[[ $TRANSPARENCY_LOG =~ ^(true|false)$ ]] || die "TRANSPARENCY_LOG must be true or false, got '$TRANSPARENCY_LOG'"
cosign_options=()
[[ $registry_is_local == true ]] && cosign_options+=(--allow-http-registry)
[[ $TRANSPARENCY_LOG == false ]] && cosign_options+=(--insecure-ignore-tlog=true)

# Resolve a tag once: every check below reads the same index, even if the tag moves meanwhile.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
docker buildx imagetools inspect --raw "$reference" >"$work/index.json" 2>"$work/error" ||
  die "cannot read $reference from $registry: $(tail -n 1 "$work/error")"
digest=sha256:$(sha256sum <"$work/index.json" | cut -d ' ' -f 1)
[[ $reference != *@* || ${reference#*@} == "$digest" ]] ||
  die "$registry served content that does not match ${reference#*@}"
image=$repository@$digest
# imagetools prints a map by platform for an index of several images, the bare value for one.
per_platform() { # per_platform Image|Provenance
  docker buildx imagetools inspect "$image" --format "{{json .$1}}" |
    jq -c --arg only "$present" 'if keys | all(contains("/")) then . else {($only): .} end'
}
# The platform images, without BuildKit's attestation manifests (platform unknown/unknown).
images=$(jq -c '[.manifests[]? | select(.platform.os != "unknown")
  | {platform: "\(.platform.os)/\(.platform.architecture)", digest}]' "$work/index.json")
present=$(jq -r 'map(.platform) | join(",")' <<<"$images")
echo "verify: checking $image${tag:+ (:$tag)}"

# signature
if cosign verify "${cosign_options[@]}" "${trust[@]}" "$image" >"$work/signatures.json" 2>"$work/error"; then
  ok signature "signed by $signer"
  signed_revision=$(jq -r --arg key "$REVISION_LABEL" \
    '[.[].optional[$key] // empty] | unique | join(" ")' "$work/signatures.json")
else
  reason=$(grep -m 1 -i error "$work/error" || tail -n 1 "$work/error")
  failed signature "no signature of $image verifies with $signer ($reason)"
  signed_revision=
fi

# platforms
absent=()
for platform in ${PLATFORMS//,/ }; do
  [[ ,$present, == *,$platform,* ]] || absent+=("$platform")
done
if ((${#absent[@]} == 0)); then
  ok platforms "$present"
else
  failed platforms "${absent[*]} missing: the index has only ${present:-no platform image}"
fi

# revision
expected=${GIT_SHA:-}
[[ -z $expected && $tag =~ ^[0-9a-f]{40}$ ]] && expected=$tag
[[ -z $expected ]] && expected=$signed_revision
revisions=$(per_platform Image | jq -r --arg key "$REVISION_LABEL" \
  'to_entries[] | "\(.key)=\(.value.config.Labels[$key] // "none")"')
wrong=$(grep -v "=$expected\$" <<<"$revisions" | tr '\n' ' ' || true)
if [[ ! $expected =~ ^[0-9a-f]{40}$ ]]; then
  failed revision "no commit to compare with: give GIT_SHA, a :<sha> tag, or a signature that names one"
elif [[ -n $wrong ]]; then
  failed revision "$REVISION_LABEL is not $expected on ${wrong% }"
elif [[ -n $signed_revision && $signed_revision != "$expected" ]]; then
  failed revision "the signature was made for commit $signed_revision, not $expected"
else
  ok revision "$expected on every image"
fi

# provenance
without=$(per_platform Provenance | jq -r --arg platforms "$present" \
  '($platforms | split(",")) - [to_entries[] | select(.value.SLSA.buildType) | .key] | join(" ")')
if [[ -z $without ]]; then
  ok provenance "BuildKit provenance for $present"
else
  failed provenance "no provenance attestation for $without"
fi

# sbom: the versions requirements.txt pins at the image's commit, not at the checkout's.
if [[ ! $expected =~ ^[0-9a-f]{40}$ ]]; then
  failed sbom "no commit known, so no pins to compare with (see revision)"
elif ! git show "$expected:requirements.txt" >"$work/requirements.txt" 2>/dev/null; then
  failed sbom "cannot read requirements.txt of commit '$expected' (not in this clone? git fetch)"
elif ! cosign verify-attestation "${cosign_options[@]}" "${trust[@]}" --type cyclonedx "$image" \
  >"$work/attestations.json" 2>"$work/error"; then
  failed sbom "no CycloneDX SBOM attestation of $image verifies with $signer ($(tail -n 1 "$work/error"))"
else
  # Every SBOM attached (one per publish of this index) must agree with the pins.
  jq -s '[.[].payload | @base64d | fromjson | .predicate]' "$work/attestations.json" >"$work/sboms.json"
  problems=()
  while read -r platform manifest; do
    # Each SBOM describes this platform's image of this index, by digest...
    described=$(jq -r --arg platform "$platform" '[.[].components[]
      | select(any(.properties[]?; .name == "oci:platform" and .value == $platform)) | .version]
      | unique | join(" ")' "$work/sboms.json")
    [[ $described == "$manifest" ]] || problems+=("$platform describes ${described:-nothing}, not $manifest")
    # ...and lists the pinned versions.
    for package in "${PINNED_PACKAGES[@]}"; do
      pinned=$(sed -n "s/^$package==\([^ ]*\).*/\1/p" "$work/requirements.txt")
      listed=$(jq -r --arg platform "$platform" --arg purl "pkg:pypi/$package@" '[.[].components[]
        | select(any(.properties[]?; .name == "oci:platform" and .value == $platform))
        | .components[] | select(.purl | startswith($purl)) | .version] | unique | join(" ")' \
        "$work/sboms.json")
      [[ $listed == "$pinned" ]] || problems+=("$platform $package ${listed:-absent} (pinned ${pinned:-nowhere})")
    done
  done < <(jq -r '.[] | "\(.platform) \(.digest)"' <<<"$images")
  if ((${#problems[@]} == 0)); then
    ok sbom "signed CycloneDX SBOM lists ${PINNED_PACKAGES[*]} as pinned, for $present"
  else
    failed sbom "the SBOM does not match requirements.txt: ${problems[*]}"
  fi
fi

if ((${#failed_checks[@]})); then
  echo "verify: $image is NOT fit to deploy: ${failed_checks[*]} failed" >&2
  exit 1
fi
echo "verify: $image passed every check; deploy it by this digest"
