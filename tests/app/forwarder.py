"""A TCP forwarder between the app and Redis that a test can cut, stall and restore.

It is a real network hop (stdlib sockets and threads), so "Redis goes away" is what the app
sees in production: refused connections, dropped connections, or a peer that stops answering.
"""

import contextlib
import socket
import threading


class Forwarder:
    """Listens on 127.0.0.1:<port> and relays every connection to `target`."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self.bytes_to_target = 0  # what the app sent Redis: 0 means it made no call

    def start(self) -> "Forwarder":
        """Accept connections (on the same port as before, after a cut)."""
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Redis is gone: refuse new connections and drop the open ones."""
        if self._listener:
            _close(self._listener)  # shutdown() first: close() alone leaves accept() listening
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                _close(sock)
            self._sockets.clear()

    def stall(self) -> None:
        """Redis hangs: connections stay open but nothing is relayed."""
        self._flowing.clear()

    def restore(self) -> None:
        """Redis is back."""
        self._flowing.set()
        if self._listener is None:
            self.start()

    def stop(self) -> None:
        """Tear down the forwarder."""
        self._flowing.set()
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # the listener was closed by cut()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                thread = threading.Thread(
                    target=self._relay, args=(source, sink, sink is upstream), daemon=True
                )
                thread.start()

    def _relay(self, source: socket.socket, sink: socket.socket, to_target: bool) -> None:
        try:
            while data := source.recv(65536):
                if to_target:
                    with self._lock:
                        self.bytes_to_target += len(data)
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
