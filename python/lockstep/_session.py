"""A session with a Lockstep coordinator: one connection at a time, read by whoever waits, resumed across cuts.

How it works, in one place:

* A request is encoded, given a request id, remembered until the coordinator confirms it (``received`` in PONG or
  WELCOME), and written by the calling thread itself when the socket takes it at once (plain TCP; over TLS, and
  whatever the socket does not take, whoever reads next writes). Every write happens under the client's lock, so
  frames go out in the order they were made. Each request's caller waits on its own :class:`_Call`.
* Whoever waits reads: one thread at a time holds the *reader role* and runs the connection — reads frames, hands
  each answer to its call, counts the coordinator's answers and acknowledges them (ACK ahead of a request once 8
  are unacknowledged, on its own after 64), PINGs in every heartbeat in which it did not both send and receive, and
  takes a connection silent for three heartbeats as dead. A caller whose news came hands the role to another
  waiting caller; the ``lockstep-io`` thread takes it only while nobody waits (an idle client still PINGs), and
  reconnects after a cut.
* After a cut it reconnects at once, then with backoff, trying every address it knows (a follower of a
  coordinator group names its leader), and resumes the session: HELLO with the session id and the count of
  answers received; the coordinator re-sends what was missed and the client re-sends every request the
  coordinator had not received. Nothing is lost or processed twice.
* A session whose lease ran out while the client was cut off, or that the coordinator no longer knows, is lost:
  its pending calls fail with :class:`SessionLostError` and the next request opens a new session (declarations
  are made again: they belong to a session).
* ``close()`` (also at interpreter exit and at the end of a ``multiprocessing`` child) sends GOODBYE, so the other
  parties learn at once that this one is gone. A forked child never uses its parent's connection: it opens its
  own session on first use.
"""


import atexit
import collections
import itertools
import logging
import os
import select
import signal
import socket
import ssl
import threading
import time
import weakref
from _thread import allocate_lock

from . import _wire as wire
from ._dial import Dialer, describe_os_error
from ._errors import LockstepError, SessionLostError, error_for
from ._options import default_client_name, format_address

log = logging.getLogger("lockstep")
log.addHandler(logging.NullHandler())

_ACK_WITH_REQUEST = 8   # answers unacknowledged before an ACK rides ahead of the next request
_ACK_ALONE = 64         # ... before an ACK goes on its own
_SILENT_HEARTBEATS = 3  # a connection silent this many heartbeats is dead
_MAX_BACKOFF = 1.0
_READ_SIZE = 262144
_IDLE_TAKEOVER = 0.05  # the I/O thread reads once nobody has for this long (s)


class _Call:
    """One request waiting for its final answer (and, for an await, perhaps first RUN_ACTION)."""

    __slots__ = ("request_id", "epoch", "_signal", "answer", "error", "parts", "run_action")

    def __init__(self):
        self.request_id = 0
        self.epoch = 0
        self._signal = allocate_lock()  # held until the I/O thread has news for the caller (cheaper than an Event)
        self._signal.acquire()
        self.answer = None      # the final frame
        self.error = None       # or the exception that ends the call
        self.parts = []         # RELEASE_PART contributions, in order
        self.run_action = None  # the generation whose action this await must run, until it does

    @property
    def done(self):
        return self.answer is not None or self.error is not None

    @property
    def has_news(self):
        """Something for the caller: the end, or an action to run."""
        return self.answer is not None or self.error is not None or self.run_action is not None

    def wake(self):
        """Tells the waiting caller there is news (set ``answer``, ``error`` or ``run_action`` first)."""
        try:
            self._signal.release()
        except RuntimeError:
            pass  # it has news it has not taken yet: it will look at the state anyway

    def wait(self, timeout=None):
        """Waits for news; the caller then looks at the state. KeyboardInterrupt reaches the caller."""
        return self._signal.acquire(True, -1 if timeout is None else timeout)


class Session:
    """A session with a coordinator (or a coordinator group), across as many connections as it takes: requests,
    their answers, reading, heartbeats, reconnecting and resuming (see the module's docstring). Thread-safe; one I/O
    thread. :class:`lockstep.Client` is one with the public requests; a barrier made without a client uses this
    process's shared session for its options (:func:`shared_session`).
    """

    def __init__(self, options, connect_now=True):
        self._options = options
        self._name_given = options.client_name is not None
        self._fresh_state()
        _track(self)
        if connect_now:
            self._ensure_connected()

    # ---- state ---------------------------------------------------------------------------------------------------

    def _fresh_state(self):
        self._pid = os.getpid()
        self._client_name = self._options.client_name or default_client_name()
        self._lock = threading.Lock()
        self._connect_lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._dialer = Dialer(self._options, self._client_name, self._stop)  # which address next, the handshake
        self._thread = None
        self._connected = False      # the first connection is made (the I/O thread waits for it, or for close)
        self._io_go = threading.Event()
        self._sock = None            # the live connection, or None while cut
        self._link = None            # its reading state (_Link)
        self._reader = None          # who holds the reader role: a waiting _Call, _IO, or nobody
        self._reader_left = 0.0      # when the role was last given up
        self._want_read = False      # a caller asks the I/O thread for the role
        self._waiters = []           # calls whose callers wait now
        self._io_wake = threading.Event()
        self._sent_in_tick = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._ids = itertools.count(1)
        self._epoch = 0              # +1 for every session lost; calls of an older epoch have failed
        self._session_id = 0
        self._lease = None
        self._heartbeat = None
        self._sent = 0               # counted requests sent in this session
        self._unconfirmed = collections.deque()  # (count, frame) the coordinator has not confirmed
        self._received = 0           # counted answers received in this session
        self._acked = 0              # the received count last sent to the coordinator
        self._pending = {}
        self._group_calls = collections.deque()
        self._out = []               # frames to write, in order (under the lock)
        self._outbuf = bytearray()   # bytes the socket has not taken yet (under the lock)
        self._direct = False         # the calling threads may write to the socket (plain TCP)
        self._declared = {}          # barrier name -> parties, declared in this session
        self._last_heard = time.monotonic()
        self._coordinator = ""

    def _reset_after_fork(self):
        """In a forked child: drop the parent's connection and thread (never write to them) and start clean."""
        inherited = (self._sock, self._wake_r, self._wake_w)
        closed = self._closed
        self._fresh_state()
        self._closed = closed
        for s in inherited:
            if s is not None:
                try:
                    s.close()  # the child's copy only: the parent's connection stays open and says nothing
                except OSError:
                    pass

    @property
    def client_name(self):
        """The name this client's parties carry in the coordinator's messages (default: host name and pid)."""
        return self._client_name

    @property
    def session_id(self):
        return self._session_id

    @property
    def address(self):
        return self._options.describe()

    # ---- connecting ----------------------------------------------------------------------------------------------

    def _start_io(self):
        """Starts the I/O thread, if not yet: it waits, idle, until the first connection is made.

        A barrier starts it when it is made, so that the thread is there before the threads that will use the
        barrier (as a ``threading.Barrier`` starts none, code that counts threads around its use sees none appear)."""
        if self._pid != os.getpid():
            self._reset_after_fork()
        if self._thread is not None:
            return
        with self._connect_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="lockstep-io", daemon=True)
                self._thread.start()

    def _ensure_connected(self, within=None):
        """Makes the first connection if not yet, within ``within`` seconds (default: the connect timeout)."""
        if self._pid != os.getpid():
            self._reset_after_fork()
        if self._connected:
            return
        self._start_io()
        with self._connect_lock:
            if self._closed:
                raise LockstepError("this Lockstep client is closed")
            if self._connected:
                return
            hs = self._dial(within or self._options.connect_timeout, resume=False)
            with self._lock:
                self._established(hs)
            self._connected = True
            self._io_go.set()

    def _dial(self, seconds, resume):
        """Connects and does the handshake (resuming this session if ``resume``), blocking: see :class:`Dialer`."""
        with self._lock:
            session = self._session_id if resume else 0
            received = self._received if resume else 0
        return self._dialer.connect_within(seconds, session, received)

    def _established(self, hs):
        """Takes a fresh WELCOME into the session (under the lock): resumed, or a new session."""
        w = hs.welcome
        if not w.resumed:
            if self._session_id:  # a resume refused: the old session's calls fail, its counts start over
                self._lose_session(w.note or "the coordinator no longer knows session %d" % self._session_id)
            # What is in _unconfirmed now was asked since the loss: the new session's first requests.
            self._session_id = w.session_id
        # Keep only what the coordinator has not received; send it again, in order.
        while self._unconfirmed and self._unconfirmed[0][0] <= w.received:
            self._unconfirmed.popleft()
        self._out = [frame for _, frame in self._unconfirmed]
        self._outbuf = bytearray()
        hs.sock.setblocking(False)  # a calling thread's write must never block while it holds the lock
        self._sock = hs.sock
        self._link = _Link(hs.sock, hs.leftover, max(w.heartbeat_millis / 1000.0, 0.01))
        self._link.watch(self._wake_r)
        self._direct = not isinstance(hs.sock, ssl.SSLSocket)
        self._lease = w.lease_millis / 1000.0
        self._heartbeat = max(w.heartbeat_millis / 1000.0, 0.01)
        self._coordinator = w.coordinator
        self._last_heard = time.monotonic()
        for waiter in self._waiters:  # one of them takes the reader role
            waiter.wake()
        log.debug("%s session %d with %s", "resumed" if w.resumed else "new", w.session_id,
                  format_address(hs.address))

    def _lose_session(self, why):
        """The session is gone (under the lock): fail what it had pending; the next request starts a new one."""
        self._epoch += 1
        self._session_id = 0
        self._sent = self._received = self._acked = 0
        self._unconfirmed.clear()
        self._declared.clear()
        pending, self._pending = self._pending, {}
        for call in pending.values():
            call.error = SessionLostError("the Lockstep session was lost: %s" % why)
            call.wake()
        log.warning("session lost: %s", why)

    # ---- requests (calling threads) ------------------------------------------------------------------------------

    def _request(self, build, call=None):
        """Queues a counted request; ``call`` (if any) will get its answer. Returns the request id."""
        self._ensure_connected()
        with self._lock:
            if self._closed:
                raise LockstepError("this Lockstep client is closed")
            request_id = next(self._ids)
            frame = build(request_id)
            if call is not None:
                call.request_id = request_id
                call.epoch = self._epoch
                self._pending[request_id] = call
            self._sent += 1
            self._unconfirmed.append((self._sent, frame))
            if self._sock is not None:  # else it goes out after the resume
                if self._received - self._acked >= _ACK_WITH_REQUEST:
                    self._out.append(wire.ack(self._received))
                    self._acked = self._received
                self._out.append(frame)
                if not (self._direct and self._flush_locked()):
                    self._wake()
        return request_id

    def _flush_locked(self):
        """Writes what is queued, as far as the socket takes it without blocking (under the lock).

        True if everything went out; else the I/O thread must write the rest when the socket can take it."""
        if self._out:
            self._outbuf += b"".join(self._out)
            self._out.clear()
        if not self._outbuf:
            return True
        try:
            n = self._sock.send(self._outbuf)
            del self._outbuf[:n]
            self._sent_in_tick = True
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError, InterruptedError):
            pass
        except OSError:
            return False  # the I/O thread finds the connection dead when it reads
        return not self._outbuf

    def _wake(self):
        try:
            self._wake_w.send(b"\x00")
        except (BlockingIOError, OSError):
            pass  # already awake

    def _call(self, build):
        call = _Call()
        self._request(build, call)
        self._wait(call)
        return call

    def _answer(self, call, what):
        """The final frame of a simple request, or raises what the coordinator said."""
        if call.error is not None:
            raise call.error
        f = call.answer
        if f.type == wire.ERROR:
            raise error_for(f, what)
        return f

    def _ensure_declared(self, name, parties):
        with self._lock:
            if self._declared.get(name) == parties and self._pid == os.getpid():
                return
        call = self._call(lambda rid: wire.declare(rid, name, parties))
        self._answer(call, "declare barrier %r" % name)
        with self._lock:
            if call.epoch == self._epoch:
                self._declared[name] = parties

    def close(self, exiting=False, _wait=5.0):
        """Ends the session (GOODBYE) and stops the I/O thread. ``exiting=True`` tells the coordinator this process
        is ending, so barriers it declared and had not reached break for the others too. Idempotent."""
        if self._pid != os.getpid():
            self._reset_after_fork()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._sock is not None:
                self._out.append(wire.goodbye(exiting))
            self._wake()
            self._io_wake.set()
        self._stop.set()
        self._io_go.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_wait)  # (a GOODBYE takes milliseconds; a coordinator that is gone must not hold us long)
        with self._lock:
            self._fail_all(LockstepError("this Lockstep client was closed"))
            link, self._link, self._sock = self._link, None, None
        if link is not None:
            link.close()
        for s in (self._wake_r, self._wake_w):
            s.close()

    def _fail_all(self, error):
        pending, self._pending = self._pending, {}
        groups, self._group_calls = list(self._group_calls), collections.deque()
        for call in list(pending.values()) + groups:
            call.error = error
            call.wake()

    # ---- reading: whoever waits reads --------------------------------------------------------------------------
    #
    # One thread at a time holds the reader role (self._reader, under the lock) and runs the connection: it writes
    # what is queued, reads, hands answers to their calls and keeps the heartbeat. A caller that waits takes the role
    # itself when it is free (no thread hop between the answer arriving and the caller running); when its own
    # news comes it hands the role to another waiting caller. The I/O thread takes it only when nobody has read for
    # a moment (an idle client still PINGs), gives it up as soon as a caller asks, and reconnects after a cut.

    def _wait(self, call, timeout=None):
        """Waits for news of ``call`` (its end, or RUN_ACTION), reading the connection itself when nobody else does.

        Returns False if ``timeout`` (seconds) passed first. KeyboardInterrupt reaches the caller, never in the middle
        of a frame: the main thread defers SIGINT to a safe point while it reads."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._waiters.append(call)
        try:
            while True:
                with self._lock:
                    if call.has_news:
                        return True
                    link = self._link
                    become = link is not None and self._reader is None and not self._closed
                    if become:
                        self._reader = call
                    elif self._reader is _IO:
                        self._want_read = True
                        self._wake()
                if become:
                    try:
                        self._read_until(link, call, deadline)
                    finally:
                        with self._lock:
                            self._reader = None
                            self._hand_over(call)
                    if call.has_news:
                        return True
                else:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    call.wait(left)  # news, or a hand-over: look again
                if deadline is not None and time.monotonic() >= deadline:
                    return call.has_news
        finally:
            with self._lock:
                self._waiters.remove(call)

    def _read_until(self, link, call, deadline):
        """Runs the connection in a calling thread until ``call`` has news, the link ends or ``deadline`` passes."""
        interrupted = []
        restore = _defer_sigint(interrupted, self._wake)
        try:
            while not (call.has_news or interrupted or link.dead or self._closed):
                wait = link.next_tick - time.monotonic()
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        break
                self._pump(link, wait)
        finally:
            restore(interrupted)

    def _hand_over(self, leaving):
        """The reader role is free (under the lock): a caller still waiting takes it, else the I/O thread soon."""
        self._reader_left = time.monotonic()
        for waiter in self._waiters:
            if waiter is not leaving and not waiter.has_news:
                waiter.wake()
                return
        # Nobody waits: the I/O thread takes the role within _IDLE_TAKEOVER unless a caller does first (waking it
        # now would cost a thread switch per await, and the caller usually waits again at once).

    def _pump(self, link, timeout):
        """One turn of the connection (by the reader): write what is queued, wait for input up to ``timeout``
        seconds, read it and hand each answer to its call, keep the heartbeat. Marks ``link.dead`` on a cut."""
        try:
            if not link.started:
                link.started = True
                if link.inbuf:  # what came with WELCOME: perhaps the caller's own answer, so look before waiting
                    self._on_frames(link)
                    return
            with self._lock:
                flushed = self._flush_locked() if self._sock is link.sock else True
            if flushed == link.want_write:
                link.want_write = not flushed
                link.poll.modify(link.fd, _POLLIN | (select.POLLOUT if link.want_write else 0))
            for fd, _ in link.poll.poll(max(int(timeout * 1000) + 1, 0)):
                if fd == link.fd:
                    got = self._read(link.sock, link.inbuf)
                    if got is None:
                        return self._cut(link, "the coordinator closed the connection")
                    if got:
                        link.heard = True
                        self._last_heard = time.monotonic()
                        self._on_frames(link)
                else:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except OSError:
                        pass
            if self._sock is not link.sock:
                return self._cut(link, "the coordinator ended the connection")
            now = time.monotonic()
            if now >= link.next_tick:
                if now - self._last_heard > _SILENT_HEARTBEATS * link.heartbeat:
                    return self._cut(link, "nothing heard for %.1f s (%d heartbeats)"
                                     % (now - self._last_heard, _SILENT_HEARTBEATS))
                with self._lock:
                    if not (self._sent_in_tick and link.heard):
                        self._out.append(wire.ping(self._received))
                        self._acked = self._received
                    self._sent_in_tick = link.heard = False
                link.next_tick = max(link.next_tick + link.heartbeat, now)
        except (OSError, wire.MalformedFrame) as e:
            self._cut(link, describe_os_error(e))

    def _cut(self, link, why):
        """The connection is gone: everything counted goes again after the resume; the I/O thread reconnects."""
        with self._lock:
            if link.dead:
                return
            link.dead = why
            if self._link is link:
                self._link = None
            if self._sock is link.sock:
                self._sock = None
            self._out.clear()
            self._outbuf.clear()
            groups, self._group_calls = list(self._group_calls), collections.deque()
            for call in groups:
                call.error = LockstepError("the connection was cut before the GROUP answer came; try again")
                call.wake()
            self._io_wake.set()
        if not self._closed:
            log.info("connection to the coordinator cut: %s; reconnecting", why)
        link.close()

    # ---- the I/O thread ------------------------------------------------------------------------------------------

    def _park_io(self):
        """Before a fork (holding the connect lock): stops the I/O thread if it is still idle, waiting for the first
        connection, so that a parent which made a barrier and never used it forks with no thread of ours (Python 3.12
        and newer warn about fork() in a process with threads, counted after the fork's own hooks: so the thread
        is started again on the next use, not right after the fork)."""
        thread = self._thread
        if thread is None or self._connected or self._closed or self._pid != os.getpid():
            return
        self._io_go.set()
        thread.join()
        self._io_go.clear()
        self._thread = None

    def _run(self):
        self._io_go.wait()  # the first connection, or close, or a fork (parked: see _park_io)
        if not self._connected and not self._closed:
            return
        try:
            while True:
                with self._lock:
                    if self._closed:
                        break
                    link = self._link
                if link is None:
                    if not self._reconnect():
                        break
                    continue
                with self._lock:
                    idle = time.monotonic() - self._reader_left
                    mine = self._reader is None and (idle >= _IDLE_TAKEOVER or not any(
                        not w.has_news for w in self._waiters))
                    if mine:
                        self._reader = _IO
                        self._want_read = False
                if not mine:
                    self._io_wake.wait(_IDLE_TAKEOVER)
                    self._io_wake.clear()
                    continue
                try:
                    while not (link.dead or self._closed or self._want_read):
                        self._pump(link, link.next_tick - time.monotonic())
                finally:
                    with self._lock:
                        self._reader = None
                        self._hand_over(None)
                        self._io_wake.clear()
            self._finish()
        except BaseException as e:  # a bug here must not leave callers waiting forever
            log.exception("the Lockstep I/O thread failed")
            with self._lock:
                self._fail_all(LockstepError("the Lockstep client failed: %r" % (e,)))
                link, self._link, self._sock = self._link, None, None
            if link is not None:
                link.close()

    def _finish(self):
        """At close: once no caller reads, write what is queued (the GOODBYE), within two seconds, and close."""
        deadline = time.monotonic() + 2.0
        while True:
            with self._lock:
                link = self._link
                if self._reader is None or time.monotonic() > deadline:
                    self._reader = _IO
                    break
            self._io_wake.wait(0.01)
        if link is None or link.dead:
            return
        try:
            while time.monotonic() < deadline:
                with self._lock:
                    if self._flush_locked():
                        break
                link.poll.poll(50)
        except OSError:
            pass
        with self._lock:
            self._link = self._sock = None
        link.close()

    @staticmethod
    def _read(sock, inbuf):
        """Reads what is there: bytes read (0 if none yet), or None at end of stream."""
        total = 0
        while True:
            try:
                data = sock.recv(_READ_SIZE)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError, InterruptedError):
                return total
            if not data:
                return total if total else None
            inbuf += data
            total += len(data)
            if len(data) < _READ_SIZE and not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                return total  # drained: no need for another call to learn it

    def _on_frames(self, link):
        frames = wire.split_frames(link.inbuf)
        if not frames:
            return
        with self._lock:
            for frame_type, body in frames:
                f = wire.decode(frame_type, body)
                if f.type in wire.COUNTED_ANSWERS and not (f.type == wire.ERROR and f.request_id == 0):
                    self._received += 1
                    self._on_answer(f)
                elif f.type == wire.PONG:
                    while self._unconfirmed and self._unconfirmed[0][0] <= f.received:
                        self._unconfirmed.popleft()
                elif f.type == wire.GROUP_STATUS:
                    if self._group_calls:
                        call = self._group_calls.popleft()
                        call.answer = f
                        call.wake()
                elif f.type == wire.ERROR:
                    self._on_connection_error(f)
                    return
                else:
                    raise wire.MalformedFrame("unexpected frame 0x%02x in a session" % f.type)
            if self._received - self._acked >= _ACK_ALONE:
                self._out.append(wire.ack(self._received))
                self._acked = self._received

    def _on_answer(self, f):
        call = self._pending.get(f.request_id)
        if call is None:
            return  # the answer to a request whose caller has gone (e.g. a CANCEL's await after close)
        if f.type == wire.RELEASE_PART:
            call.parts.extend(f.contributions)
            return
        if f.type == wire.RUN_ACTION:
            call.run_action = f.generation
        else:
            del self._pending[f.request_id]
            call.answer = f
        call.wake()

    def _on_connection_error(self, f):
        """An ERROR with request id 0 (under the lock): the coordinator closes the connection after it."""
        self._sock = None
        if f.code == wire.SHUTTING_DOWN or f.code == wire.NOT_LEADER:
            log.info("coordinator: %s (%s)", f.message, f.name)
            return  # a cut: resume on the next node or when it is back
        self._lose_session("the coordinator ended the connection: %s (%s)" % (f.message, f.name))

    def _reconnect(self):
        """Reconnects after a cut (at once, then with backoff) and resumes; False if the client closed."""
        backoff = 0.0
        while not self._stop.is_set():
            with self._lock:
                silent = time.monotonic() - self._last_heard
                if self._session_id and self._lease and silent > self._lease:
                    self._lose_session("no contact with the coordinator for %.1f s; the session lease of %g s "
                                       "expired" % (silent, self._lease))
                resume = bool(self._session_id)
            budget = 2 * self._heartbeat if resume else self._options.connect_timeout
            try:
                hs = self._dial(max(budget, 0.2), resume)
            except LockstepError as e:
                log.info("reconnect failed: %s", e)
                if e.code in ("AUTH_FAILED", "NO_SECRET", "TLS", "UNSUPPORTED_VERSION"):
                    with self._lock:
                        if self._pending:
                            self._fail_all(e)
                backoff = min(max(backoff * 2, 0.05), self._dialer.backoff_cap(_MAX_BACKOFF))
                self._stop.wait(backoff)
                continue
            with self._lock:
                if self._closed:
                    hs.sock.close()
                    return False
                self._established(hs)
            return True
        return False


class _Link:
    """One live connection and its reading state, used by whichever thread holds the reader role."""

    __slots__ = ("sock", "fd", "poll", "inbuf", "heartbeat", "next_tick", "heard", "want_write", "started", "dead")

    def __init__(self, sock, leftover, heartbeat):
        self.sock = sock
        self.fd = sock.fileno()
        self.poll = select.poll()
        self.poll.register(self.fd, _POLLIN)
        self.inbuf = bytearray(leftover)
        self.heartbeat = heartbeat
        self.next_tick = time.monotonic() + heartbeat
        self.heard = False
        self.want_write = False
        self.started = False
        self.dead = None  # why, once cut

    def watch(self, wake):
        self.poll.register(wake.fileno(), _POLLIN)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


_POLLIN = select.POLLIN | select.POLLERR | select.POLLHUP
_IO = object()  # the reader role's holder when it is the I/O thread
_MAIN_THREAD = threading.main_thread()
_SIGINT = int(signal.SIGINT)
try:  # the signal module's functions without its enum conversions (a tenth of an await's time otherwise)
    import _signal as _signals
except ImportError:  # pragma: no cover - not CPython
    _signals = signal


def _defer_sigint(interrupted, wake):
    """In the main thread, holds SIGINT's handler back while a caller reads the connection (a KeyboardInterrupt
    between reading bytes and handing them on would lose them), and runs it once reading stops. Returns the
    function that restores the handler and runs it."""
    if threading.current_thread() is not _MAIN_THREAD:
        return _no_restore
    try:
        original = _signals.getsignal(_SIGINT)
        if original is None or original in (signal.SIG_IGN, signal.SIG_DFL):
            return _no_restore

        def deferred(signum, frame):
            interrupted.append((signum, frame))
            wake()  # out of select

        _signals.signal(_SIGINT, deferred)
    except (ValueError, OSError):  # not the main interpreter
        return _no_restore

    def restore(got):
        _signals.signal(_SIGINT, original)
        if got:
            original(*got[0])  # Python's default raises KeyboardInterrupt here, at a safe point

    return restore


def _no_restore(got):
    pass


# ---- every client of this process: closed at exit, reset in a forked child ---------------------------------------

_live = weakref.WeakSet()
_live_lock = threading.Lock()
_exit_hooked_pid = None


def _track(client):
    global _exit_hooked_pid
    with _live_lock:
        _live.add(client)
        if _exit_hooked_pid != os.getpid():
            _exit_hooked_pid = os.getpid()
            try:  # a multiprocessing child ends with os._exit: atexit does not run there, its finalizers do
                import multiprocessing.util
                multiprocessing.util.Finalize(None, _close_all_at_exit, exitpriority=100)
            except Exception:  # pragma: no cover - multiprocessing unavailable
                pass


def _close_all_at_exit():
    """GOODBYE with ``exiting`` from every client of this process, so the others learn at once it is gone."""
    pid = os.getpid()
    for client in list(_live):
        if client._pid == pid:
            try:
                client.close(exiting=True, _wait=2.0)
            except Exception:  # exit goes on
                pass


_forking = []  # clients whose connect lock this process holds while it forks


def _before_fork():
    for client in list(_live):
        if client._pid == os.getpid():
            client._connect_lock.acquire()
            _forking.append(client)
            client._park_io()


def _after_fork_in_parent():
    while _forking:
        _forking.pop()._connect_lock.release()


def _after_fork_in_child():
    global _live_lock, _shared_lock
    _forking.clear()  # (the child's clients start afresh, with new locks)
    _live_lock = threading.Lock()
    for client in list(_live):
        client._reset_after_fork()
    _shared_lock = threading.Lock()
    _shared.clear()


# ---- the shared session of this process, per coordinator and options -----------------------------------------------

_shared = {}
_shared_lock = threading.Lock()


def shared_session(options, connect=True):
    """This process's session for ``options`` (what a barrier made without a client uses), made on first use (and
    made again in a forked child); connected unless ``connect`` is false (its I/O thread is started either way)."""
    key = options.key()
    with _shared_lock:
        session = _shared.get(key)
        if session is None or session._pid != os.getpid() or session._closed:
            session = Session(options, connect_now=False)
            _shared[key] = session
    if connect:
        session._ensure_connected()
    else:
        session._start_io()
    return session


atexit.register(_close_all_at_exit)
os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
