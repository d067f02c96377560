"""Host name lookups with a deadline: a lookup that gets no answer in time fails, fast.

The system resolver (socket.getaddrinfo) cannot be given a deadline or be cancelled: while the
DNS server does not answer, it waits seconds (Docker's embedded DNS gives a stopped container's
name to its upstream server, which can take 4 s). dnspython's resolver has a deadline of its
own (`lifetime`) and holds no thread while it waits, so a lookup made once the name resolves
again gets its answer at once, whatever the outage left behind.

The system resolver reads /etc/hosts before DNS (nsswitch's "files dns"); dnspython reads only
/etc/resolv.conf. So this module reads /etc/hosts itself first: Docker writes the container's
own name there, `extra_hosts` and Kubernetes' hostAliases add theirs, and `localhost` is there.
"""

import functools
import ipaddress
import socket
from pathlib import Path

import dns.exception
import dns.resolver

HOSTS_FILE = Path("/etc/hosts")
FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}


class LookupTimedOut(TimeoutError):
    """No answer for the name within the deadline."""


class NoSuchName(socket.gaierror):
    """The DNS answered: the name has no address (an OSError, like getaddrinfo's own)."""


@functools.cache
def system_resolver() -> dns.resolver.Resolver:
    """A resolver configured from /etc/resolv.conf (servers, search domains, ndots), read once."""
    return dns.resolver.Resolver()


def addresses(host: str, deadline: float, family: int = socket.AF_UNSPEC) -> list[str]:
    """The IP addresses of `host`, as the system resolver would find them, within `deadline` s.

    An IP address is its own answer; then /etc/hosts; then DNS. Raises LookupTimedOut when the
    DNS servers give no answer in time, NoSuchName when they say there is no such address.
    """
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host] if family in (socket.AF_UNSPEC, FAMILIES[literal.version]) else []
    listed = addresses_in_hosts_file(host, family)
    if listed:
        return listed
    try:
        answer = system_resolver().resolve_name(host, family, lifetime=deadline, search=True)
    except dns.exception.Timeout:
        raise LookupTimedOut(f"looking up {host} took over {deadline} s") from None
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as error:
        raise NoSuchName(socket.EAI_NONAME, f"{host}: {error}") from None
    except dns.exception.DNSException as error:  # e.g. every server failed (SERVFAIL)
        raise NoSuchName(socket.EAI_AGAIN, f"{host}: {error}") from None
    return list(answer.addresses(family))


def addresses_in_hosts_file(host: str, family: int = socket.AF_UNSPEC) -> list[str]:
    """The addresses /etc/hosts gives `host` (names match without regard to case), in order."""
    # Its format is one line per address, "ADDRESS NAME [ALIAS...]", "#" to the end of a line a
    # comment: a few lines of code, where a library for it would be another dependency.
    try:
        lines = HOSTS_FILE.read_text(errors="replace").splitlines()
    except FileNotFoundError:  # a minimal root file system may have none
        return []
    found = []
    for line in lines:
        address, *names = line.partition("#")[0].split() or [""]
        if host.lower() not in (name.lower() for name in names):
            continue
        try:
            version = ipaddress.ip_address(address).version
        except ValueError:
            continue  # a line that is not an address entry
        if family in (socket.AF_UNSPEC, FAMILIES[version]):
            found.append(address)
    return found
