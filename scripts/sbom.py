"""Write a CycloneDX SBOM of a pushed image index: each platform's Python and Debian packages.

    python3 scripts/sbom.py REPOSITORY@sha256:... > sbom.cdx.json

publish.sh runs this and attaches the result to the index with `cosign attest`. It reads files
out of each platform's image (`docker create`, `docker cp`) and runs nothing inside it, so a
foreign platform needs no emulation. Standard library only: it runs on any host with Python 3.11+.
"""

import email.parser
import json
import re
import subprocess
import sys
import tarfile
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

VENV = "/opt/venv"  # the Dockerfile's runtime virtual environment: the app and its dependencies
DPKG_STATUS = "/var/lib/dpkg/status"


def docker(*args: str) -> str:
    """Run the docker CLI; on failure, stop with its error message."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"sbom: docker {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout


def image_platforms(reference: str) -> dict:
    """{"linux/amd64": manifest digest, ...} of an index, leaving out its attestation manifests."""
    index = json.loads(docker("buildx", "imagetools", "inspect", "--raw", reference))
    return {
        f"{entry['platform']['os']}/{entry['platform']['architecture']}": entry["digest"]
        for entry in index.get("manifests", [])
        if entry.get("platform", {}).get("os", "unknown") != "unknown"
    }


def read_files(container: str, path: str, wanted) -> dict:
    """{name: text} of the files under PATH in CONTAINER whose tar member name `wanted` accepts.

    Raises FileNotFoundError when PATH does not exist in the image.
    """
    copy = subprocess.Popen(
        ["docker", "cp", f"{container}:{path}", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    found = {}
    try:
        with tarfile.open(fileobj=copy.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile() and wanted(member.name):
                    text = archive.extractfile(member).read().decode("utf-8", "replace")
                    found[member.name] = text
    except tarfile.ReadError:  # no tar stream at all: docker cp failed, as its message says
        pass
    error = copy.stderr.read().decode()
    if copy.wait() != 0:
        if "Could not find the file" in error:
            raise FileNotFoundError(path)
        sys.exit(f"sbom: docker cp {path} out of the image failed: {error.strip()}")
    return found


def python_packages(container: str) -> tuple:
    """The interpreter's version (or None), and (name, version) of each distribution in the venv.

    Raises FileNotFoundError when the image has no venv.
    """
    files = read_files(
        container, VENV, lambda name: name.endswith((".dist-info/METADATA", "/pyvenv.cfg"))
    )
    interpreter, distributions = None, []
    for name, text in files.items():
        if name.endswith("pyvenv.cfg"):  # "version = 3.14.0", written by `python -m venv`
            interpreter = next(iter(re.findall(r"^version = (.+)$", text, re.M)), None)
        else:
            metadata = email.parser.Parser().parsestr(text, headersonly=True)
            distributions.append((metadata["Name"], metadata["Version"]))
    return interpreter, sorted(distributions)


def debian_packages(container: str) -> list:
    """(name, version, architecture) of each installed package in dpkg's status file, if any."""
    try:
        (status,) = read_files(container, DPKG_STATUS, lambda name: True).values()
    except FileNotFoundError:  # a base image without dpkg
        return []
    packages = []
    for paragraph in status.split("\n\n"):
        fields = dict(re.findall(r"^([\w-]+): (.*)$", paragraph, re.MULTILINE))
        if fields.get("Status", "").endswith(" installed"):
            packages.append((fields["Package"], fields["Version"], fields["Architecture"]))
    return sorted(packages)


def component(platform: str, name: str, version: str, purl: str, kind="library") -> dict:
    """One CycloneDX component; its bom-ref, unique in the document, names the platform."""
    return {
        "type": kind,
        "bom-ref": f"{platform}/{purl}",
        "name": name,
        "version": version,
        "purl": purl,
    }


def platform_image(reference: str, platform: str, digest: str) -> dict:
    """The component for one platform's image, its packages nested inside it."""
    container = docker("create", "--platform", platform, reference).strip()
    try:
        (interpreter, python), debian = python_packages(container), debian_packages(container)
    except FileNotFoundError as missing:
        sys.exit(f"sbom: the {platform} image of {reference} has no {missing}")
    finally:
        docker("rm", container)
    # Package URLs: PyPI names normalized as PEP 503 compares them; Debian versions may hold ':'.
    packages = []
    if interpreter:  # the official image's Python is no Debian package: listed only here
        purl = f"pkg:generic/python@{quote(interpreter)}"
        packages.append(component(platform, "python", interpreter, purl, kind="application"))
    packages += [
        component(platform, name, version, f"pkg:pypi/{normalize(name)}@{quote(version)}")
        for name, version in python
    ]
    packages += [
        component(platform, name, version, f"pkg:deb/debian/{name}@{quote(version)}?arch={arch}")
        for name, version, arch in debian
    ]
    return {
        "type": "container",
        "bom-ref": platform,
        "name": reference.rpartition("@")[0],
        "version": digest,
        "properties": [{"name": "oci:platform", "value": platform}],
        "components": packages,
    }


def normalize(name: str) -> str:
    """A Python distribution name as PEP 503 compares them: Flask_WTF -> flask-wtf."""
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> None:
    """Print the SBOM of the index named on the command line."""
    if len(sys.argv) != 2 or "@sha256:" not in sys.argv[1]:
        sys.exit("usage: sbom.py REPOSITORY@sha256:DIGEST  (an image index, by digest)")
    reference = sys.argv[1]
    repository, _, index_digest = reference.rpartition("@")
    platforms = image_platforms(reference)
    if not platforms:
        sys.exit(f"sbom: {reference} lists no platform images")
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "dockerapp scripts/sbom.py"}]},
            "component": {
                "type": "container",
                "bom-ref": "index",
                "name": repository,
                "version": index_digest,
            },
        },
        "components": [
            platform_image(reference, platform, digest) for platform, digest in platforms.items()
        ],
    }
    json.dump(bom, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
