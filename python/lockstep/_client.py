"""``lockstep.Client``: a session with a coordinator, with the requests a program makes of it directly."""

from . import _wire as wire
from ._barrier import Barrier
from ._errors import LockstepError
from ._session import Session, _Call


class Client(Session):
    """A session with a coordinator (or a coordinator group). Thread-safe; one I/O thread; close it when done.

    Made by :func:`lockstep.connect`. ``barrier()`` gives a :class:`lockstep.Barrier` bound to this session.
    """

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<lockstep.Client %r at %s session=%d>" % (self._client_name, self.address, self._session_id)

    def barrier(self, name, parties, action=None, timeout=None):
        """A :class:`lockstep.Barrier` on this session, declared now: a coordinator that cannot be reached, or a
        barrier that exists with another number of parties, is reported here rather than at the first wait."""
        b = Barrier._bound(self, parties, action, timeout, name)
        self._ensure_declared(name, parties)
        return b

    def forget(self, name):
        """Drops this session's declaration of ``name`` (UNDECLARE): the coordinator forgets the barrier once
        nobody declares it and nobody waits there."""
        call = self._call(lambda rid: wire.undeclare(rid, name))
        with self._lock:
            self._declared.pop(name, None)
        self._answer(call, "forget barrier %r" % name)

    def barriers(self):
        """Every barrier the coordinator holds (LIST), sorted by name: a list of dicts (name, parties,
        generation, broken, broken_reason, waiting: [(party, waited_millis)])."""
        return self._answer(self._call(wire.list_barriers), "list barriers").barriers

    def status(self, name):
        """One barrier's live state (QUERY): a dict (parties, generation, broken, broken_reason, waiting)."""
        f = self._answer(self._call(lambda rid: wire.query(rid, name)), "query barrier %r" % name)
        return dict(parties=f.parties, generation=f.generation, broken=f.broken, broken_reason=f.broken_reason,
                    waiting=f.waiting)

    def group(self):
        """The coordinator group as the connected node sees it (GROUP): a dict (self_id, leader, term,
        commit_index, members); empty ids and no members for a single coordinator."""
        self._ensure_connected()
        call = _Call()
        with self._lock:
            if self._sock is None:
                raise LockstepError("not connected to the coordinator just now (reconnecting); try again")
            self._group_calls.append(call)
            self._out.append(wire.group())
            self._wake()
        self._wait(call)
        if call.error is not None:
            raise call.error
        f = call.answer
        return dict(self_id=f.self_id, leader=f.leader, term=f.term, commit_index=f.commit_index,
                    members=f.members)
