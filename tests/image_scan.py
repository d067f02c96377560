"""Search what `docker save` wrote for secret bytes, layer by layer, uncompressed.

With the containerd image store (Docker 29's default), `docker save` writes an OCI layout
whose layers are gzip-compressed blobs: a search of the raw archive would see no plaintext at
all, so each blob is unpacked as it is read. Used by the proof's secret scan and by the test
that the build's extra CA stays out of every stage.
"""

import gzip
import tarfile

CHUNK = 16 * 2**20
GZIP_MAGIC = b"\x1f\x8b"


def needles_in_archive(archive, needles: dict[str, bytes]) -> tuple[set[str], int]:
    """Names of the needles found in any file of the tar `archive`, and the bytes searched."""
    found, searched = set(), 0
    with tarfile.open(archive) as saved:
        for member in saved:
            if not member.isfile():
                continue
            stream = saved.extractfile(member)
            if stream.read(2) == GZIP_MAGIC:
                stream.seek(0)
                stream = gzip.GzipFile(fileobj=stream)
            else:
                stream.seek(0)
            names, size = needles_in_stream(stream, needles)
            found |= {f"{name} (in {member.name})" for name in names}
            searched += size
    return found, searched


def needles_in_stream(stream, needles: dict[str, bytes]) -> tuple[set[str], int]:
    """Names of the needles in a binary stream, read in chunks that overlap by a needle's length."""
    overlap = max(map(len, needles.values())) - 1
    found, tail, searched = set(), b"", 0
    while chunk := stream.read(CHUNK):
        window, searched = tail + chunk, searched + len(chunk)
        found |= {name for name, needle in needles.items() if needle in window}
        tail = window[-overlap:]
    return found, searched
