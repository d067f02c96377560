"""A system resolver whose answers for one name can be stalled, like an unreachable DNS server."""

import socket
import threading


class StallingDns:
    """Stands in for socket.getaddrinfo: `alias` resolves as `target`, unless stalled.

    A lookup of `alias` made while stalled hangs until release(), as glibc's does while the
    DNS server does not answer; stopping the stall does not free it, as it would not there.
    """

    def __init__(self, alias: str, target: str):
        self.alias, self.target = alias, target
        self.lookups = 0  # of the alias
        self._stalled = False
        self._released = threading.Event()
        self._resolve = socket.getaddrinfo

    def stall(self) -> None:
        self._stalled = True

    def answer_again(self) -> None:
        """New lookups get answers; those already stalled keep hanging."""
        self._stalled = False

    def release(self) -> None:
        """Let every hanging lookup end (with no answer)."""
        self._released.set()

    def getaddrinfo(self, host, *args, **kwargs):
        if host != self.alias:
            return self._resolve(host, *args, **kwargs)
        self.lookups += 1
        if self._stalled:
            self._released.wait()
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return self._resolve(self.target, *args, **kwargs)
