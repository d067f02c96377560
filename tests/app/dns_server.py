"""A real DNS server on 127.0.0.1 (UDP) for the tests, whose answers can be stalled.

It answers A queries for the names it was given, NXDOMAIN for other names, and no data for
other record types (AAAA). Stalled, it reads queries and answers none, as an upstream server
does during an outage behind Docker's embedded DNS.
"""

import socket
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset


class DnsServer:
    """Serves `records` (name -> IPv4 address) until close(); use as a context manager."""

    def __init__(self, records: dict[str, str]):
        self.records = {name.lower().rstrip("."): address for name, address in records.items()}
        self.queries = 0  # of every name and type, answered or not
        self._stalled = threading.Event()
        self._closed = threading.Event()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)  # how soon _serve notices close()
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)
        self._thread.start()

    def resolver(self) -> dns.resolver.Resolver:
        """A resolver that asks this server only, with no search domains."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        return resolver

    def stall(self) -> None:
        self._stalled.set()

    def answer_again(self) -> None:
        self._stalled.clear()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self._socket.close()

    def __enter__(self) -> "DnsServer":
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                wire, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            self.queries += 1
            if self._stalled.is_set():
                continue
            query = dns.message.from_wire(wire)
            self._socket.sendto(self._answer(query).to_wire(), client)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        address = self.records.get(question.name.to_text().lower().rstrip("."))
        if address is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A:
            response.answer.append(dns.rrset.from_text(question.name, 1, "IN", "A", address))
        return response
