"""Small helpers shared by the tests."""

import re
import socket


def free_port() -> int:
    """A free 127.0.0.1 port in the range the project gives the app's tests (15000-15999)."""
    for port in range(15400, 16000):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 15400-15999")


def csrf_token(html: str) -> str:
    """The CSRF token embedded in the page's form."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
