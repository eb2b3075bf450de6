"""``lockstep.Barrier``: ``threading.Barrier``'s API and semantics, for processes on many machines."""

import collections
import math
import os

from . import _wire as wire
from ._errors import BrokenBarrierError, LockstepError, error_for
from ._options import Options
from ._session import _Call, shared_session

_REPR_CONNECT_WITHIN = 1.0  # seconds: repr() of a barrier not used yet connects, but must not hang

Contribution = collections.namedtuple("Contribution", "party data")
Contribution.__doc__ = "One party's contribution to an exchange: its party name and its bytes."


class Exchange:
    """What one party received when an exchange released: every party's contribution (the same list, in arrival
    order, for all of them) and this party's place in it. Nobody sees any contribution before all have arrived,
    and nobody sees any if the generation breaks."""

    __slots__ = ("barrier", "generation", "index", "contributions")

    def __init__(self, barrier, generation, index, contributions):
        self.barrier = barrier
        #: The generation that released (the coordinator numbers them from 1).
        self.generation = generation
        #: This party's index, as ``wait()`` returns it: 0 for the first to arrive; its own contribution is here.
        self.index = index
        #: Every party's :class:`Contribution`, in arrival order.
        self.contributions = [Contribution(p, d) for p, d in contributions]

    @property
    def party(self):
        """This party's name in the exchange (the client name, ``name#2`` for a second party of one client)."""
        return self.contributions[self.index].party

    @property
    def data(self):
        """This party's own contribution."""
        return self.contributions[self.index].data

    def by_party(self):
        """The contributions as a dict, party name to bytes, in arrival order."""
        return collections.OrderedDict(self.contributions)

    def __repr__(self):
        return "<lockstep.Exchange %r generation %d: %s>" % (
            self.barrier, self.generation, ", ".join("%s(%d bytes)" % (p, len(d)) for p, d in self.contributions))


class Barrier:
    """A barrier for ``parties`` parties that may be threads, processes or machines, held by a Lockstep coordinator.

    The API and semantics of ``threading.Barrier`` (and ``multiprocessing.Barrier``)::

        barrier = lockstep.Barrier(4, name="game")          # instead of multiprocessing.Barrier(4)
        index = barrier.wait()                               # 0 for the first to arrive

    ``name`` says which barrier of the coordinator this is: every party, on any machine, uses the same name and
    party count. ``address`` is the coordinator (``"host:7777"``, or a group ``"h1:7777,h2:7777,h3:7777"``;
    default ``$LOCKSTEP_COORDINATOR``, else ``localhost:7777``). The object connects on first use, not when made
    (when made, it starts its client's I/O thread, idle until then, so no thread appears while it is used),
    so it can be made in a parent process and passed to children, as a ``multiprocessing.Barrier`` is: a forked
    child opens its own session; a spawned one gets the barrier by name and address. Several threads may wait on
    one object at once; each is one party. Every use of the object (``wait``, ``abort``, ``reset``, ``n_waiting``,
    ``broken``) declares the barrier in this process's session, which keeps its state on the coordinator until the
    session ends.

    Deliberate differences from ``threading.Barrier``: see :meth:`wait` (KeyboardInterrupt) and the README.
    """

    def __init__(self, parties, action=None, timeout=None, *, name, address=None, client_name=None, lease=None,
                 connect_timeout=10.0, auth_secret=None, auth_secret_file=None, tls=False, tls_ca=None,
                 tls_cert=None, tls_key=None):
        options = Options(address, client_name, lease, connect_timeout, auth_secret, auth_secret_file, tls,
                          tls_ca, tls_cert, tls_key)
        self._setup(parties, action, timeout, name, options, None)

    def _setup(self, parties, action, timeout, name, options, client):
        if not isinstance(parties, int) or isinstance(parties, bool) or parties < 1:
            raise ValueError("parties must be a positive integer, not %r" % (parties,))
        if not isinstance(name, str) or not 1 <= len(name.encode("utf-8")) <= 256:
            raise ValueError("name must be 1 to 256 bytes of UTF-8, not %r" % (name,))
        if action is not None and not callable(action):
            raise TypeError("action must be callable")
        self._parties = parties
        self._action = action
        self._timeout = timeout
        self._name = name
        self._encoded_name = wire.encoded_name(name)
        self._options = options
        self._client = client  # a Client the user made (connect().barrier()), else this process's shared one
        if client is None:
            # This process's client for these options, made now (its I/O thread started, idle), connected on first
            # use: so the thread is there before the threads that will use the barrier.
            self._cached = shared_session(options, connect=False)

    @classmethod
    def _bound(cls, client, parties, action, timeout, name):
        b = cls.__new__(cls)
        b._setup(parties, action, timeout, name, client._options, client)
        return b

    def __reduce__(self):
        # A spawned process (or any pickle) gets the barrier by name and address, and its own session.
        return _rebuild, (self._parties, self._action, self._timeout, self._name, self._options)

    def __repr__(self):
        # threading.Barrier's shape (CPython's tests match it), with the name and the coordinator; the state is
        # asked of the coordinator, as n_waiting and broken are.
        # asked of the coordinator, as n_waiting and broken are (a first connection is given a second at most).
        head = "<lockstep.Barrier at %#x, %r on %s:" % (id(self), self._name, self._options.describe())
        try:
            status = self._status(connect_within=_REPR_CONNECT_WITHIN)
        except LockstepError as e:
            return "%s parties=%d, state unknown (%s)>" % (head, self._parties, e)
        if status is not None and status.broken:
            return head + " broken>"
        return "%s waiters=%d/%d>" % (head, 0 if status is None else len(status.waiting), self._parties)

    def _session(self, connect_within=None):
        if self._client is not None:
            return self._client
        cached = self.__dict__.get("_cached")
        if cached is None or cached._pid != os.getpid() or cached._closed:
            cached = self._cached = shared_session(self._options, connect=False)
        cached._ensure_connected(connect_within)
        return cached

    # ---- threading.Barrier's API ---------------------------------------------------------------------------------

    @property
    def name(self):
        return self._name

    @property
    def parties(self):
        """The number of parties required to pass the barrier."""
        return self._parties

    @property
    def n_waiting(self):
        """The number of parties waiting at the barrier now (asked of the coordinator)."""
        status = self._status()
        return 0 if status is None else len(status.waiting)

    @property
    def broken(self):
        """True if the barrier is broken (asked of the coordinator)."""
        status = self._status()
        return False if status is None else status.broken

    def wait(self, timeout=None):
        """Waits until all parties have called ``wait()``; returns this party's index, 0 for the first to arrive.

        ``timeout`` (seconds; default the barrier's own) passing breaks the barrier: this party and the others
        get :class:`BrokenBarrierError`, as with ``threading.Barrier``. A broken barrier raises at once until
        :meth:`reset`. If an ``action`` was given, the last party to arrive runs it before anyone is released; if
        it raises, the barrier breaks, that party gets the action's exception and the others
        :class:`BrokenBarrierError`.

        Unlike ``threading.Barrier``, a KeyboardInterrupt (or any exception) delivered while this party waits
        withdraws it and breaks the barrier for the others (cause ``"interrupted"``): a party that stops waiting
        is reported, never silently subtracted.
        """
        return self._arrive(timeout, 0, b"")[0]

    def exchange(self, data, timeout=None):
        """Waits as :meth:`wait` does and gives everyone every party's ``data`` (bytes): an all-gather.

        Returns an :class:`Exchange`. Nobody receives any contribution before all parties have arrived, or if the
        generation breaks."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("exchange data must be bytes, not %s" % type(data).__name__)
        index, released, parts = self._arrive(timeout, wire.AWAIT_FLAG_EXCHANGE, bytes(data))
        return Exchange(self._name, released.generation, index, parts + released.contributions)

    def reset(self):
        """Returns the barrier to its initial state: parties waiting now get :class:`BrokenBarrierError`."""
        self._simple(wire.reset, "reset barrier %r" % self._name)

    def abort(self):
        """Puts the barrier into the broken state: waiting and later ``wait()`` calls raise
        :class:`BrokenBarrierError` until :meth:`reset`."""
        self._simple(wire.abort, "abort barrier %r" % self._name)

    # ---- how -----------------------------------------------------------------------------------------------------

    def _simple(self, encode, what):
        client = self._session()
        client._ensure_declared(self._name, self._parties)
        client._answer(client._call(lambda rid: encode(rid, self._name)), what)

    def _status(self, connect_within=None):
        client = self._session(connect_within)
        client._ensure_declared(self._name, self._parties)  # as every use does: it keeps the barrier's state alive
        call = client._call(lambda rid: wire.query(rid, self._name))
        if call.answer is not None and call.answer.type == wire.ERROR and call.answer.code == wire.UNKNOWN_BARRIER:
            return None  # nobody has declared it yet: nobody waits, nothing broke
        return client._answer(call, "query barrier %r" % self._name)

    def _arrive(self, timeout, flags, data):
        if timeout is None:
            timeout = self._timeout
        if timeout is None:
            timeout_ms = -1
        else:
            timeout_ms = max(0, int(math.ceil(float(timeout) * 1000)))  # never earlier than asked
        if self._action is not None:
            flags |= wire.AWAIT_FLAG_ACTION
        client = self._session()
        client._ensure_declared(self._name, self._parties)
        call = _Call()
        name = self._encoded_name
        client._request(lambda rid: wire.await_encoded(rid, name, timeout_ms, flags, data), call)
        action_error = None
        try:
            while True:
                client._wait(call)
                if call.done:
                    break
                if call.run_action is not None:
                    call.run_action = None
                    failure = None
                    try:
                        self._action()
                    except BaseException as e:  # the barrier breaks; this party gets the action's exception
                        action_error = e
                        failure = "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
                    client._request(lambda rid: wire.action_done(call.request_id, failure))
        except BaseException:
            if not call.done:
                self._withdraw(client, call)
            raise
        if call.error is not None:
            raise call.error
        f = call.answer
        if f.type == wire.RELEASED:
            return f.arrival_order, f, call.parts
        if f.type == wire.FAILED:
            if action_error is not None:
                raise action_error
            raise BrokenBarrierError(f.message, barrier=self._name, generation=f.generation, cause=f.cause,
                                     culprit=f.culprit or None, outcome=f.outcome)
        raise _await_error(f, self._name)

    @staticmethod
    def _withdraw(client, call):
        """CANCEL an await whose caller stopped waiting, and give the coordinator a moment to settle it."""
        try:
            client._request(lambda rid: wire.cancel(call.request_id))
            client._wait(call, 1.0)
        except LockstepError:
            pass


def _await_error(f, name):
    return error_for(f, "wait at barrier %r" % name)


def _rebuild(parties, action, timeout, name, options):
    b = Barrier.__new__(Barrier)
    b._setup(parties, action, timeout, name, options, None)
    return b
