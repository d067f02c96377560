"""Steady, bounded HTTP load from Python threads, recording every request's outcome."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests


@dataclass
class Outcome:
    """One request: when it started and ended (monotonic seconds), and how it ended."""

    started: float
    ended: float
    status: int | None = None  # None: no HTTP response at all
    error: str | None = None  # exception class name for transport failures
    content_type: str = ""
    retry_after: str | None = None
    traceback_in_body: bool = False

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class BackgroundLoad:
    """`clients` threads, each with its own keep-alive session, sending `send(session)` in a loop.

    Bounded in time (`max_seconds`) and count (`max_requests` per client); each client waits
    `pause` seconds between requests so the load is steady rather than flat out.
    """

    def __init__(
        self,
        send: Callable[[requests.Session], requests.Response],
        clients: int = 8,
        max_seconds: float = 60,
        max_requests: int = 20_000,
        pause: float = 0.01,
    ):
        self.send, self.clients, self.max_seconds = send, clients, max_seconds
        self.max_requests, self.pause = max_requests, pause
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def __enter__(self) -> "BackgroundLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _client(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        session = requests.Session()
        for _ in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() > deadline:
                break
            outcome = Outcome(started=time.monotonic(), ended=0.0)
            try:
                response = self.send(session)
                outcome.status = response.status_code
                outcome.content_type = response.headers.get("Content-Type", "")
                outcome.retry_after = response.headers.get("Retry-After")
                outcome.traceback_in_body = "Traceback" in response.text
            except requests.RequestException as error:
                outcome.error = type(error).__name__
                session.close()  # a broken connection: reconnect, as a real client would
                session = requests.Session()
            outcome.ended = time.monotonic()
            with self._lock:
                self.outcomes.append(outcome)
            self._stop.wait(self.pause)
        session.close()

    def between(self, start: float, end: float = float("inf")) -> list[Outcome]:
        """Outcomes of the requests that started in [start, end)."""
        with self._lock:
            return [outcome for outcome in self.outcomes if start <= outcome.started < end]
