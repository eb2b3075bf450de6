"""Lockstep: ``threading.Barrier`` for processes on many machines, held by a Lockstep coordinator.

    import lockstep
    barrier = lockstep.Barrier(4, name="game")    # instead of multiprocessing.Barrier(4)
    barrier.wait()

Standard library only. The wire protocol is the coordinator's ``protocol/PROTOCOL.md``.
"""

from ._barrier import Barrier, Contribution, Exchange
from ._client import Client
from ._errors import BrokenBarrierError, InvalidRequestError, LockstepError, SessionLostError
from ._options import Options

__all__ = ["Barrier", "BrokenBarrierError", "Client", "Contribution", "Exchange", "InvalidRequestError",
           "LockstepError", "SessionLostError", "connect"]
__version__ = "0.1.0"


def connect(address=None, *, client_name=None, lease=None, connect_timeout=10.0, auth_secret=None,
            auth_secret_file=None, tls=False, tls_ca=None, tls_cert=None, tls_key=None):
    """Opens a session with a coordinator now (raising :class:`LockstepError` if none can be reached).

    ``address``: ``"host:port"``, several comma-separated for a coordinator group, or a list; default
    ``$LOCKSTEP_COORDINATOR``, else ``localhost:7777``. ``client_name``: the name the coordinator's messages give
    this client's parties (default host name and pid). ``lease``: seconds the session outlives a cut connection
    (default the coordinator's, 10 s). ``auth_secret`` / ``auth_secret_file`` / ``$LOCKSTEP_AUTH_SECRET``: the
    coordinator's shared secret. ``tls=True`` (the system's CAs) or ``tls_ca=PEM``; ``tls_cert``/``tls_key`` for a
    client certificate.
    """
    return Client(Options(address, client_name, lease, connect_timeout, auth_secret, auth_secret_file, tls, tls_ca,
                          tls_cert, tls_key))
