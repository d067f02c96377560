"""A free TCP port on 127.0.0.1, for the host-side suites that start servers of their own."""

import socket
from collections.abc import Iterable


def free_port(candidates: Iterable[int]) -> int:
    """The first of `candidates` that nothing on 127.0.0.1 is bound to."""
    tried = 0
    for port in candidates:
        tried += 1
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"none of the {tried} ports tried is free on 127.0.0.1")
