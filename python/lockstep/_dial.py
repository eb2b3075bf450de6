"""Reaching a coordinator: which of its addresses to try (a node that does not lead names the one that does), and
the handshake with one — HELLO, the shared secret's challenge, WELCOME — blocking, within a time."""

import collections
import hashlib
import hmac
import socket
import ssl
import time

from . import _wire as wire
from ._errors import LockstepError
from ._options import format_address, parse_addresses

GROUP_MAX_BACKOFF = 0.2  # once a node said it does not lead: a group elects in a few hundred ms
_AUTH_CONTEXT = b"LKST-AUTH-1"


class Dialer:
    """The addresses of one client's coordinator, which to try next, and whether they are a group's."""

    def __init__(self, options, client_name, stop):
        self._options = options
        self._client_name = client_name
        self._stop = stop  # set when the client closes: connecting gives up
        self._next = 0
        #: Some node said it does not lead: a group, whose elections are short.
        self.in_group = False

    def connect_within(self, seconds, session, received):
        """Tries every address (following NOT_LEADER hints) until one serves a session or ``seconds`` pass; resumes
        ``session`` (with ``received`` answers received) if not 0. Raises :class:`LockstepError` saying why for each
        address tried."""
        deadline = time.monotonic() + seconds
        addresses = list(self._options.addresses)
        errors = collections.OrderedDict()
        hint = None
        attempt = 0
        while True:
            if hint is not None:
                addr, hint = hint, None
            else:
                addr = addresses[self._next % len(addresses)]
                self._next += 1
            left = max(deadline - time.monotonic(), 0.05)
            share = left if len(addresses) == 1 else max(min(left, seconds / len(addresses)), 0.05)
            try:
                return self._handshake(addr, share, session, received)
            except _Redirect as r:
                self.in_group = True
                errors[format_address(addr)] = "not the group's leader" + (
                    " (it named %s)" % r.leader if r.leader else "")
                if r.leader:
                    try:
                        hint = parse_addresses(r.leader)[0]
                        if hint not in addresses:
                            addresses.append(hint)
                    except ValueError:
                        hint = None
            except LockstepError as e:
                if e.code in ("AUTH_FAILED", "AUTH_REQUIRED", "BAD_MAGIC", "UNSUPPORTED_VERSION",
                              "MALFORMED_FRAME", "TLS_REQUIRED", "NO_SECRET", "HTTP"):
                    raise  # another node would say the same
                errors[format_address(addr)] = str(e)
            except ssl.SSLError as e:
                raise LockstepError("cannot connect to coordinator at %s: TLS failed: %s"
                                    % (format_address(addr), e.reason or e), "TLS") from None
            except (OSError, wire.MalformedFrame) as e:
                errors[format_address(addr)] = describe_os_error(e)
            attempt += 1
            if self._stop.is_set():
                raise LockstepError("this Lockstep client is closed")
            if time.monotonic() >= deadline:
                said = "; ".join("%s: %s" % kv for kv in errors.items())
                raise LockstepError("cannot connect to coordinator at %s: %s" % (self._options.describe(), said))
            if attempt % len(addresses) == 0 and hint is None:
                self._stop.wait(min(0.05 * attempt, self.backoff_cap(0.5), max(deadline - time.monotonic(), 0)))

    def backoff_cap(self, single):
        """The longest wait between tries: ``single`` for one coordinator; short for a group, whose elections take
        a few hundred milliseconds (waiting longer would add most of that again to every failover)."""
        return min(single, GROUP_MAX_BACKOFF) if self.in_group else single

    def _handshake(self, addr, timeout, session, received):
        """Connects to one node and runs HELLO (and AUTH) to WELCOME, blocking, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        raw = socket.create_connection(addr, timeout=timeout)
        sock = raw
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            ctx = self._options.ssl_context()
            if ctx is not None:
                sock = ctx.wrap_socket(raw, server_hostname=addr[0])
            lease_ms = int(round(self._options.lease * 1000)) if self._options.lease else 0
            sock.sendall(wire.hello(self._client_name, lease_ms, session, received))
            buf = bytearray()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LockstepError("no WELCOME within %.1f s" % timeout)
                sock.settimeout(left)
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    raise LockstepError("no WELCOME within %.1f s" % timeout) from None
                if not data:
                    raise LockstepError("the coordinator closed the connection during the handshake")
                buf += data
                if buf[:5] == b"HTTP/":
                    raise LockstepError(
                        "cannot connect to coordinator at %s: it answered in HTTP: that is a web server, perhaps "
                        "the coordinator's HTTP port (/health, /metrics); its barrier protocol listens on another "
                        "port, 7777 by default" % format_address(addr), "HTTP")
                while True:
                    one = wire.split_one(buf)
                    if one is None:
                        break
                    f = wire.decode(*one)
                    if f.type == wire.CHALLENGE:
                        secret = self._options.auth_secret
                        if not secret:
                            raise LockstepError(
                                "the coordinator at %s requires a shared secret: give auth_secret= or "
                                "auth_secret_file=, or set LOCKSTEP_AUTH_SECRET" % format_address(addr),
                                "NO_SECRET")
                        mac = hmac.new(secret, _AUTH_CONTEXT + f.nonce + self._client_name.encode("utf-8"),
                                       hashlib.sha256).digest()
                        sock.sendall(wire.auth(mac))
                    elif f.type == wire.WELCOME:
                        sock.settimeout(None)
                        return Handshake(sock, f, bytes(buf), addr)
                    elif f.type == wire.ERROR and f.code == wire.NOT_LEADER:
                        raise _Redirect(f.message)
                    elif f.type == wire.ERROR:
                        raise LockstepError("the coordinator at %s refused the connection: %s (%s)"
                                            % (format_address(addr), f.message, f.name), f.name)
                    else:
                        raise wire.MalformedFrame("unexpected frame 0x%02x before WELCOME" % f.type)
        except BaseException:
            sock.close()
            raise


class _Redirect(Exception):
    def __init__(self, leader):
        super().__init__(leader)
        self.leader = leader


class Handshake:
    """A connection that has done its handshake: the socket, the WELCOME, bytes read after it, the address."""

    __slots__ = ("sock", "welcome", "leftover", "address")

    def __init__(self, sock, welcome, leftover, address):
        self.sock, self.welcome, self.leftover, self.address = sock, welcome, leftover, address


def describe_os_error(e):
    if isinstance(e, ConnectionRefusedError):
        return "connection refused (is the coordinator running there?)"
    if isinstance(e, socket.gaierror):
        return "unknown host (%s)" % (e.strerror or e)
    if isinstance(e, socket.timeout):
        return "timed out"
    return str(e) or type(e).__name__
