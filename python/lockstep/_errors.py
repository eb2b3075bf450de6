"""The exceptions Lockstep raises."""

import threading

from . import _wire as wire


class LockstepError(Exception):
    """A coordinator could not be reached or refused a request; the message says which and why."""

    def __init__(self, message, code=None):
        super().__init__(message)
        #: The protocol's error name (e.g. ``"PARTIES_MISMATCH"``), when the coordinator sent one.
        self.code = code


class BrokenBarrierError(threading.BrokenBarrierError, LockstepError):
    """The barrier is broken, or broke while this party waited: as ``threading.BrokenBarrierError``, and saying why.

    ``except threading.BrokenBarrierError`` catches it, so a program written for ``threading.Barrier`` or
    ``multiprocessing.Barrier`` needs no change.
    """

    def __init__(self, message, *, barrier=None, generation=None, cause=None, culprit=None, outcome="broken"):
        LockstepError.__init__(self, message)
        #: The barrier's name.
        self.barrier = barrier
        #: The generation that broke (the coordinator numbers them from 1).
        self.generation = generation
        #: Why it broke: ``"timeout"``, ``"interrupted"``, ``"abort"``, ``"reset"``, ``"lost_party"``,
        #: ``"action_failed"``, ``"shutdown"`` or ``"session_lost"``.
        self.cause = cause
        #: The party that broke it (timed out, was lost, aborted, reset), or None.
        self.culprit = culprit
        #: How it ended for this party: ``"broken"``, ``"timed_out"`` (its own timeout passed),
        #: ``"interrupted"`` or ``"action_failed"``.
        self.outcome = outcome


class SessionLostError(BrokenBarrierError):
    """This client's session ended (its lease expired while it was cut off, or the coordinator forgot it), so the
    waits it had pending cannot complete; the other parties' barrier broke as well. The client opens a new
    session for what it does next."""

    def __init__(self, message, barrier=None):
        super().__init__(message, barrier=barrier, cause="session_lost", outcome="broken")


class InvalidRequestError(LockstepError, ValueError):
    """The coordinator refused a request as invalid: a barrier declared with another number of parties, a name
    too long, a contribution over its limit. Also a ``ValueError``."""


def error_for(f, what):
    """The exception for the coordinator's ERROR frame ``f`` about ``what`` the caller tried."""
    message = "cannot %s: %s" % (what, f.message)
    if f.code in (wire.INVALID_ARGUMENT, wire.PARTIES_MISMATCH):
        return InvalidRequestError(message, f.name)
    return LockstepError(message, f.name)
