"""Where and how to reach a coordinator: the addresses, the client's name, its lease, the secret and TLS."""

import os
import socket
import ssl

from . import _wire as wire


def default_client_name():
    return "%s-%d" % (socket.gethostname(), os.getpid())


def parse_addresses(address):
    """``"h1:7777,h2:7777"``, ``"host"`` (port 7777), ``"[::1]:7777"``, or a list of these: a list of (host, port)."""
    if address is None:
        address = os.environ.get("LOCKSTEP_COORDINATOR") or "localhost:%d" % wire.DEFAULT_PORT
    parts = [address] if isinstance(address, str) else list(address)
    result = []
    for part in parts:
        for item in str(part).split(","):
            item = item.strip()
            if not item:
                continue
            host, port = item, wire.DEFAULT_PORT
            if item.startswith("["):
                end = item.find("]")
                if end < 0:
                    raise ValueError("bad coordinator address %r: no closing ']'" % item)
                host, rest = item[1:end], item[end + 1:]
                if rest:
                    if not rest.startswith(":"):
                        raise ValueError("bad coordinator address %r" % item)
                    port = rest[1:]
            elif item.count(":") == 1:
                host, port = item.split(":")
            try:
                port = int(port)
            except ValueError:
                raise ValueError("bad coordinator address %r: the port is not a number" % item) from None
            if not host or not 0 < port < 65536:
                raise ValueError("bad coordinator address %r: write it as host:port" % item)
            result.append((host, port))
    if not result:
        raise ValueError("no coordinator address given")
    return result


def format_address(addr):
    host, port = addr
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


class Options:
    """How to reach a coordinator: picklable, so a barrier passed to a spawned process reaches the same one."""

    __slots__ = ("addresses", "client_name", "lease", "connect_timeout", "auth_secret", "tls", "tls_ca",
                 "tls_cert", "tls_key")

    def __init__(self, address=None, client_name=None, lease=None, connect_timeout=10.0, auth_secret=None,
                 auth_secret_file=None, tls=False, tls_ca=None, tls_cert=None, tls_key=None):
        self.addresses = tuple(parse_addresses(address))
        if client_name is not None:
            n = len(client_name.encode("utf-8"))
            if not 1 <= n <= 256:
                raise ValueError("client_name must be 1 to 256 bytes of UTF-8, not %d" % n)
        self.client_name = client_name
        if lease is not None and lease <= 0:
            raise ValueError("lease must be positive (seconds), not %r" % (lease,))
        self.lease = lease
        if connect_timeout <= 0:
            raise ValueError("connect_timeout must be positive (seconds), not %r" % (connect_timeout,))
        self.connect_timeout = float(connect_timeout)
        if auth_secret is None and auth_secret_file is not None:
            with open(auth_secret_file, "rb") as f:
                auth_secret = f.read().strip()
        if auth_secret is None and os.environ.get("LOCKSTEP_AUTH_SECRET", "").strip():
            auth_secret = os.environ["LOCKSTEP_AUTH_SECRET"].strip()
        if isinstance(auth_secret, str):
            auth_secret = auth_secret.encode("utf-8")
        self.auth_secret = auth_secret
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        self.tls = bool(tls or tls_ca or tls_cert)
        self.tls_ca, self.tls_cert, self.tls_key = tls_ca, tls_cert, tls_key

    def key(self):
        return tuple(getattr(self, s) for s in self.__slots__)

    def __getstate__(self):
        return self.key()

    def __setstate__(self, state):
        for slot, value in zip(self.__slots__, state):
            setattr(self, slot, value)

    def describe(self):
        return ",".join(format_address(a) for a in self.addresses)

    def ssl_context(self):
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=self.tls_ca)
        if self.tls_cert:
            ctx.load_cert_chain(self.tls_cert, self.tls_key)
        return ctx
