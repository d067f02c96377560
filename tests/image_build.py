"""`docker build` of the project's Dockerfile, as the tests, the swarm check and the proof run it.

BuildKit builds it (the buildx plugin makes plain `docker build` BuildKit). pip in the builder
stage may need the CA bundle of a TLS-intercepting proxy: EXTRA_CA_CERTS names that file, and it
goes in as a BuildKit secret, never a layer (Dockerfile, docs/containers.md).
"""

import os


def extra_ca_secret(bundle: str | None = None) -> list[str]:
    """The `--secret` option that hands a CA bundle (default: EXTRA_CA_CERTS) to the build."""
    bundle = bundle or os.environ.get("EXTRA_CA_CERTS")
    return ["--secret", f"id=extra_ca,src={bundle}"] if bundle else []


def build_command(
    tag: str,
    context,
    *,
    target: str | None = None,
    extra_ca: str | None = None,
    platform: str | None = None,
    **build_args: str,
) -> list[str]:
    """The argv of a BuildKit build of `context` into `tag`, with build args and the CA secret;
    for `platform` when given (default: the engine's own)."""
    command = ["docker", "build", "--quiet", "--tag", tag, *extra_ca_secret(extra_ca)]
    command += [f"--build-arg={name}={value}" for name, value in build_args.items()]
    if target:
        command.append(f"--target={target}")
    if platform:
        command.append(f"--platform={platform}")
    return [*command, str(context)]
