package io.lockstep.coordinator.core;

import io.lockstep.protocol.BreakCause;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message.Contribution;
import io.lockstep.protocol.Outcome;
import io.lockstep.protocol.Protocol;

import java.io.DataOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The barriers of one coordinator, as a pure state machine: {@link #apply} takes a {@link Command} and the
 * current time and emits {@link Effect}s; it reads no clock, starts no thread and touches no socket. Deadlines
 * are state like any other: {@link #nextDeadline()} says when the caller should next {@link Command.Tick tick}.
 *
 * <p>Semantics are {@code java.util.concurrent.CyclicBarrier}'s, per named barrier, as listed in DESIGN.md. One
 * detail has no counterpart there: while the last party runs the barrier action on its client, the generation
 * is <em>tripping</em>; timeouts and interrupts no longer apply to it (the outcome is the action's), and awaits
 * that arrive meanwhile are queued and join the next generation once the action's outcome is known.
 *
 * <p>Not thread-safe: one thread calls it (the server's core executor).
 */
public final class BarrierCore {

    /** A deadline value meaning "none". */
    public static final long NO_DEADLINE = Long.MAX_VALUE;
    /** Default limit on the contribution bytes one barrier holds at once (all its waiting parties together). */
    public static final long DEFAULT_MAX_BARRIER_BYTES = 64L * 1024 * 1024;

    /** Default limit on the number of barriers held at once. */
    public static final int DEFAULT_MAX_BARRIERS = 100_000;
    /** Default limit on the awaits one session may have outstanding at once. */
    public static final int DEFAULT_MAX_AWAITS_PER_SESSION = 4_096;
    /** Default limit on one barrier's parties. */
    public static final int DEFAULT_MAX_PARTIES = 100_000;

    /**
     * Limits on what clients may ask of the core; a request over one is rejected with {@code LIMIT_EXCEEDED} or
     * {@code INVALID_ARGUMENT} and changes nothing (in particular, it breaks no barrier).
     *
     * @param maxContributionBytes largest contribution of one party
     * @param maxBarrierBytes      most contribution bytes one barrier holds at once
     * @param maxBarriers          most barriers held at once
     * @param maxNameBytes         longest barrier name, in bytes of UTF-8 (at most 256)
     * @param maxAwaitsPerSession  most awaits one session may have outstanding at once
     * @param maxParties           most parties one barrier may have
     */
    public record Limits(int maxContributionBytes, long maxBarrierBytes, int maxBarriers, int maxNameBytes,
                         int maxAwaitsPerSession, int maxParties) {
        public static final Limits DEFAULT = new Limits(Protocol.DEFAULT_MAX_CONTRIBUTION_BYTES,
                DEFAULT_MAX_BARRIER_BYTES);

        public Limits {
            if (maxContributionBytes < 0 || maxBarrierBytes < maxContributionBytes) {
                throw new IllegalArgumentException("contribution limit " + maxContributionBytes
                        + " must be at least 0 and at most the barrier limit " + maxBarrierBytes);
            }
            if (maxBarriers < 1 || maxAwaitsPerSession < 1 || maxParties < 1) {
                throw new IllegalArgumentException("max barriers, max awaits per session and max parties must be at "
                        + "least 1");
            }
            if (maxNameBytes < 1 || maxNameBytes > Protocol.MAX_BARRIER_NAME_BYTES) {
                throw new IllegalArgumentException("max name bytes must be 1.." + Protocol.MAX_BARRIER_NAME_BYTES
                        + ", was " + maxNameBytes);
            }
        }

        public Limits(int maxContributionBytes, long maxBarrierBytes) {
            this(maxContributionBytes, maxBarrierBytes, DEFAULT_MAX_BARRIERS, Protocol.MAX_BARRIER_NAME_BYTES,
                    DEFAULT_MAX_AWAITS_PER_SESSION, DEFAULT_MAX_PARTIES);
        }
    }

    private final Limits limits;

    private final Map<Long, Session> sessions = new HashMap<>();
    private final Map<String, Barrier> barriers = new HashMap<>();
    private final TreeSet<Waiter> deadlines = new TreeSet<>(
            Comparator.comparingLong((Waiter w) -> w.deadline).thenComparingLong(w -> w.seq));
    /** Disconnected sessions, by when their lease expires. */
    private final TreeSet<Session> leases = new TreeSet<>(
            Comparator.comparingLong((Session s) -> s.leaseDeadline).thenComparingLong(s -> s.id));
    private long nextSeq;

    private Consumer<? super Effect> out;
    private long now;

    public BarrierCore() {
        this(Limits.DEFAULT);
    }

    public BarrierCore(Limits limits) {
        this.limits = limits;
    }

    /** Applies {@code command} at time {@code nowMillis}, sending every effect to {@code effects}, in order. */
    public void apply(Command command, long nowMillis, Consumer<? super Effect> effects) {
        this.out = effects;
        this.now = nowMillis;
        try {
            dispatch(command);
        } finally {
            this.out = null;
        }
    }

    /** The earliest pending deadline (an await's timeout or a session's lease), or {@link #NO_DEADLINE}. */
    public long nextDeadline() {
        long await = deadlines.isEmpty() ? NO_DEADLINE : deadlines.first().deadline;
        long lease = leases.isEmpty() ? NO_DEADLINE : leases.first().leaseDeadline;
        return Math.min(await, lease);
    }

    /** True while {@code session} is open (connected, or cut but within its lease). */
    public boolean isOpen(long session) {
        return sessions.containsKey(session);
    }

    /** The open sessions with no lease running (whose connection has not been reported cut), by id. */
    public List<Long> connectedSessions() {
        List<Long> ids = new ArrayList<>();
        for (Session s : sessions.values()) {
            if (s.leaseDeadline == NO_DEADLINE) {
                ids.add(s.id);
            }
        }
        return ids;
    }

    /**
     * How many more arrivals complete {@code barrier}'s current generation — or −1 when the next arrival's effect
     * cannot be foretold that simply (no such barrier, broken, or its action running).
     */
    public int stillToArrive(String barrier) {
        Barrier b = barriers.get(barrier);
        return b == null || b.broken != null || b.runner != null ? -1 : b.parties - b.arrived.size();
    }

    /** Number of barriers held. */
    public int barrierCount() {
        return barriers.size();
    }

    /** Number of open sessions. */
    public int sessionCount() {
        return sessions.size();
    }

    /** A snapshot of every barrier, ordered by name. */
    public List<BarrierView> views(long nowMillis) {
        return barriers.values().stream()
                .sorted(Comparator.comparing(b -> b.name))
                .map(b -> b.view(nowMillis))
                .toList();
    }

    /** A snapshot of one barrier, or null if it is not held. */
    public BarrierView view(String name, long nowMillis) {
        Barrier b = barriers.get(name);
        return b == null ? null : b.view(nowMillis);
    }

    private void dispatch(Command command) {
        if (reusesTheIdOfAWaitingAwait(command)) {
            return;
        }
        // Java 17 has no pattern switch; instanceof with a final else keeps every command handled.
        if (command instanceof Command.Arrive c) {
            arrive(c);
        } else if (command instanceof Command.Tick) {
            tick();
        } else if (command instanceof Command.Declare c) {
            declare(c);
        } else if (command instanceof Command.Cancel c) {
            cancel(c);
        } else if (command instanceof Command.ActionDone c) {
            actionDone(c);
        } else if (command instanceof Command.Abort c) {
            abort(c);
        } else if (command instanceof Command.Undeclare c) {
            undeclare(c);
        } else if (command instanceof Command.Reset c) {
            reset(c);
        } else if (command instanceof Command.Query c) {
            query(c);
        } else if (command instanceof Command.ListBarriers c) {
            Session s = sessions.get(c.session());
            if (s != null) {
                reply(s, new Effect.StatusList(s.id, c.requestId(), views(now)));
            }
        } else if (command instanceof Command.OpenSession c) {
            openSession(c);
        } else if (command instanceof Command.CloseSession c) {
            closeSession(c);
        } else if (command instanceof Command.Disconnect c) {
            disconnect(c);
        } else if (command instanceof Command.Reconnect c) {
            reconnect(c);
        } else if (command instanceof Command.Shutdown c) {
            shutdown(c);
        } else {
            throw new AssertionError("unhandled command " + command);
        }
    }

    /**
     * A request (other than the CANCEL or ACTION_DONE that name an await on purpose) whose id is that of an await of
     * its session still waiting is refused with BAD_REQUEST_ID under that id; the waiting await is unaffected and
     * gets its own final answer later. So a BAD_REQUEST_ID answer never ends the await that holds the id.
     */
    private boolean reusesTheIdOfAWaitingAwait(Command command) {
        if (!(command instanceof Command.OwnRequest r)) {
            return false;
        }
        long session = r.session();
        long requestId = r.requestId();
        Session s = sessions.get(session);
        if (s == null || !s.awaits.containsKey(requestId)) {
            return false;
        }
        reply(s, new Effect.Rejected(s.id, requestId, ErrorCode.BAD_REQUEST_ID, "request id " + requestId
                + " is in use by an await of this session that still waits; this request is refused, the await "
                + "is unaffected"));
        return true;
    }

    // ---- sessions ------------------------------------------------------------------------------------------------

    private void openSession(Command.OpenSession c) {
        if (sessions.putIfAbsent(c.session(), new Session(c.session(), c.clientName(), c.leaseMillis())) != null) {
            throw new IllegalStateException("session " + c.session() + " is already open");
        }
    }

    private void disconnect(Command.Disconnect c) {
        Session s = sessions.get(c.session());
        if (s == null || s.leaseDeadline != NO_DEADLINE) {
            return;
        }
        s.silentSince = c.silentSinceMillis();
        s.leaseDeadline = saturatedAdd(s.silentSince, s.leaseMillis);
        s.closedGrace = Command.Disconnect.SILENT;
        long graceEnds = c.closedGraceMillis() == Command.Disconnect.SILENT ? NO_DEADLINE
                : saturatedAdd(now, c.closedGraceMillis());
        if (graceEnds < s.leaseDeadline) {
            s.closedGrace = c.closedGraceMillis();
            s.leaseDeadline = graceEnds;
        }
        leases.add(s);
    }

    private void reconnect(Command.Reconnect c) {
        Session s = sessions.get(c.session());
        if (s != null && s.leaseDeadline != NO_DEADLINE) {
            leases.remove(s);
            s.leaseDeadline = NO_DEADLINE;
        }
    }

    private void expireLease(Session s) {
        long silent = now - s.silentSince;
        boolean closed = s.closedGrace != Command.Disconnect.SILENT;
        String why = closed
                ? String.format(Locale.ROOT, "its connection was closed and it did not come back within %.1f s",
                s.closedGrace / 1000.0)
                : String.format(Locale.ROOT, "silent for %.1f s; its session lease of %s expired", silent / 1000.0,
                seconds(s.leaseMillis));
        emit(new Effect.SessionExpired(s.id, s.name, silent, why));
        breakWhereExpected(s, why + (closed ? ", before it arrived" : " before it arrived"));
        closeSession(new Command.CloseSession(s.id, why));
    }

    /**
     * A party that declared a barrier and is gone before arriving will never arrive in this generation: the parties
     * waiting for it learn so now, rather than waiting for their timeouts (or for ever).
     */
    private void breakWhereExpected(Session s, String why) {
        for (Barrier b : s.declared) {
            if (b.broken == null && b.runner == null && !b.arrived.isEmpty() && !arrivedFrom(b, s)) {
                breakBarrier(b, BreakCause.LOST_PARTY, s.name, why, null, Outcome.BROKEN);
                drainQueue(b);
            }
        }
    }

    private static boolean arrivedFrom(Barrier b, Session s) {
        for (Waiter w : b.arrived) {
            if (w.session == s) {
                return true;
            }
        }
        return false;
    }

    private static String seconds(long millis) {
        return millis % 1000 == 0 ? millis / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }

    private void closeSession(Command.CloseSession c) {
        Session s = sessions.get(c.session());
        if (s == null) {
            return;
        }
        if (c.cannotCome()) {
            breakWhereExpected(s, c.why() + ", before it arrived");
        }
        sessions.remove(s.id);
        s.open = false;
        if (s.leaseDeadline != NO_DEADLINE) {
            leases.remove(s);
        }
        for (Waiter w : new ArrayList<>(s.awaits.values())) {
            if (w.state == WaiterState.QUEUED) {
                w.barrier.queued.remove(w);
                w.barrier.heldBytes -= w.contribution.length;
                w.state = WaiterState.DONE;
            } else if (w.state == WaiterState.WAITING) {
                Barrier b = w.barrier;
                // A party that is already released in a tripping generation does not break it; the runner does.
                if (b.runner == null || b.runner == w) {
                    breakBarrier(b, BreakCause.LOST_PARTY, party(w), c.why(), w, Outcome.BROKEN);
                    drainQueue(b);
                }
            }
        }
        s.awaits.clear();
        for (Barrier b : s.declared) {
            b.declarers.remove(s);
            forgetIfUnused(b);
        }
        s.declared.clear();
    }

    private void shutdown(Command.Shutdown c) {
        for (Barrier b : barriers.values()) {
            if (!b.arrived.isEmpty() || !b.queued.isEmpty()) {
                breakBarrier(b, BreakCause.SHUTDOWN, "", c.why(), null, Outcome.BROKEN);
                drainQueue(b);
            }
        }
    }

    // ---- declarations, admin -------------------------------------------------------------------------------------

    private void declare(Command.Declare c) {
        Session s = sessions.get(c.session());
        if (s == null) {
            return;
        }
        String invalid = checkName(c.barrier(), limits.maxNameBytes());
        if (invalid == null && c.parties() < 1) {
            invalid = "parties must be at least 1, was " + c.parties();
        } else if (invalid == null && c.parties() > limits.maxParties()) {
            invalid = "barrier '" + c.barrier() + "' asks for " + c.parties() + " parties; this coordinator allows "
                    + "at most " + limits.maxParties() + " (its --max-parties)";
        }
        if (invalid != null) {
            reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.INVALID_ARGUMENT, invalid));
            return;
        }
        Barrier b = barriers.get(c.barrier());
        if (b == null) {
            if (barriers.size() >= limits.maxBarriers()) {
                reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.LIMIT_EXCEEDED, "the coordinator holds "
                        + barriers.size() + " barriers, its limit; '" + c.barrier() + "' cannot be created"));
                return;
            }
            b = new Barrier(c.barrier(), c.parties());
            barriers.put(b.name, b);
        } else if (b.parties != c.parties()) {
            reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.PARTIES_MISMATCH,
                    "barrier '" + b.name + "' has " + b.parties + " parties; this declaration asks for "
                            + c.parties()));
            return;
        }
        b.declarers.add(s);
        s.declared.add(b);
        reply(s, new Effect.Ok(s.id, c.requestId()));
    }

    private void undeclare(Command.Undeclare c) {
        Session s = sessions.get(c.session());
        if (s == null) {
            return;
        }
        Barrier b = barriers.get(c.barrier());
        if (b == null || !b.declarers.contains(s)) {
            reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.NOT_DECLARED,
                    "barrier '" + c.barrier() + "' was not declared by this session"));
            return;
        }
        for (Waiter w : s.awaits.values()) {
            if (w.barrier == b) {
                reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.INVALID_ARGUMENT, "an await of this "
                        + "session still waits at barrier '" + b.name + "' (request " + w.requestId + ")"));
                return;
            }
        }
        b.declarers.remove(s);
        s.declared.remove(b);
        forgetIfUnused(b);
        reply(s, new Effect.Ok(s.id, c.requestId()));
    }

    /** A barrier nobody declares and nobody waits at is forgotten: memory does not grow with names used once. */
    private void forgetIfUnused(Barrier b) {
        if (b.declarers.isEmpty() && b.arrived.isEmpty() && b.queued.isEmpty()) {
            barriers.remove(b.name);
        }
    }

    private void abort(Command.Abort c) {
        Session s = sessions.get(c.session());
        Barrier b = s == null ? null : known(s, c.requestId(), c.barrier());
        if (b == null) {
            return;
        }
        if (b.broken == null) {
            breakBarrier(b, BreakCause.ABORT, s.name, "", null, Outcome.BROKEN);
            drainQueue(b);
        }
        reply(s, new Effect.Ok(s.id, c.requestId()));
    }

    private void reset(Command.Reset c) {
        Session s = sessions.get(c.session());
        Barrier b = s == null ? null : known(s, c.requestId(), c.barrier());
        if (b == null) {
            return;
        }
        if (!b.arrived.isEmpty()) {
            breakBarrier(b, BreakCause.RESET, s.name, "", null, Outcome.BROKEN);
        }
        b.broken = null;
        b.nextGeneration();
        drainQueue(b);
        reply(s, new Effect.Ok(s.id, c.requestId()));
    }

    private void query(Command.Query c) {
        Session s = sessions.get(c.session());
        Barrier b = s == null ? null : known(s, c.requestId(), c.barrier());
        if (b != null) {
            reply(s, new Effect.Status(s.id, c.requestId(), b.view(now)));
        }
    }

    /** The named barrier, or null after rejecting the request. */
    private Barrier known(Session s, long requestId, String name) {
        Barrier b = barriers.get(name);
        if (b == null) {
            reply(s, new Effect.Rejected(s.id, requestId, ErrorCode.UNKNOWN_BARRIER,
                    "no barrier named '" + name + "'"));
        }
        return b;
    }

    // ---- awaiting ------------------------------------------------------------------------------------------------

    private void arrive(Command.Arrive c) {
        Session s = sessions.get(c.session());
        if (s == null) {
            return;
        }
        Barrier b = barriers.get(c.barrier());
        if (c.timeoutMillis() < -1) {
            reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.INVALID_ARGUMENT,
                    "timeout must be -1 (none) or at least 0 ms, was " + c.timeoutMillis()));
            return;
        }
        if (b == null || !b.declarers.contains(s)) {
            reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.NOT_DECLARED,
                    "barrier '" + c.barrier() + "' was not declared by this session; declare it first"));
            return;
        }
        if (s.awaits.size() >= limits.maxAwaitsPerSession()) {
            reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.LIMIT_EXCEEDED, "this session already has "
                    + s.awaits.size() + " awaits outstanding, its limit"));
            return;
        }
        int size = c.contribution().length;
        if (size > limits.maxContributionBytes()) {
            reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.INVALID_ARGUMENT, "a contribution of "
                    + size + " bytes exceeds the limit of " + limits.maxContributionBytes() + " bytes"));
            return;
        }
        if (b.heldBytes + size > limits.maxBarrierBytes()) {
            reply(s, new Effect.Rejected(s.id, c.requestId(), ErrorCode.INVALID_ARGUMENT, "barrier '" + b.name
                    + "' already holds " + b.heldBytes + " bytes of contributions; " + size + " more would exceed "
                    + "its limit of " + limits.maxBarrierBytes() + " bytes"));
            return;
        }
        long deadline = c.timeoutMillis() < 0 ? NO_DEADLINE : saturatedAdd(now, c.timeoutMillis());
        Waiter w = new Waiter(s, c.requestId(), b, c.timeoutMillis(), deadline, c.runsAction(), c.exchange(),
                c.contribution(), nextSeq++);
        s.awaits.put(w.requestId, w);
        b.heldBytes += size;
        if (b.runner != null) {
            w.state = WaiterState.QUEUED;
            b.queued.add(w);
        } else {
            join(b, w);
        }
    }

    /** {@code w} enters the current generation of {@code b} (which is not tripping). */
    private void join(Barrier b, Waiter w) {
        if (b.broken != null) {
            finish(w, new Effect.Failed(w.session.id, w.requestId, Outcome.BROKEN, b.broken));
            return;
        }
        w.state = WaiterState.WAITING;
        w.arrivedAt = now;
        if (b.arrived.isEmpty()) {
            b.firstArrivalAt = now;
        }
        b.arrived.add(w);
        if (w.exchange) {
            b.exchanges++;
        }
        if (w.cancelled) {
            breakBarrier(b, BreakCause.INTERRUPTED, party(w), "", w, Outcome.INTERRUPTED);
        } else if (b.arrived.size() == b.parties) {
            trip(b, w);
        } else if (w.deadline <= now) {
            breakBarrier(b, BreakCause.TIMEOUT, party(w), w.timeoutMillis + " ms", w, Outcome.TIMED_OUT);
        } else if (w.deadline != NO_DEADLINE) {
            deadlines.add(w);
        }
    }

    private void trip(Barrier b, Waiter last) {
        for (Waiter w : b.arrived) {
            deadlines.remove(w);
        }
        if (last.runsAction) {
            b.runner = last;
            reply(last.session, new Effect.RunAction(last.session.id, last.requestId, b.name, b.generation));
        } else {
            release(b);
        }
    }

    private void release(Barrier b) {
        List<Contribution> contributions = b.exchanges > 0 ? b.contributions() : List.of();
        emit(new Effect.Tripped(b.name, b.generation, b.parties, now - b.firstArrivalAt));
        for (int i = 0; i < b.arrived.size(); i++) {
            Waiter w = b.arrived.get(i);
            finish(w, new Effect.Released(w.session.id, w.requestId, b.name, b.generation, i,
                    w.exchange ? contributions : List.of()));
        }
        b.clearArrived();
        b.nextGeneration();
        drainQueue(b);
    }

    /** Expires every await deadline and session lease due by now, earliest first (awaits first on a tie). */
    private void tick() {
        while (true) {
            Waiter w = deadlines.isEmpty() ? null : deadlines.first();
            Session s = leases.isEmpty() ? null : leases.first();
            boolean awaitDue = w != null && w.deadline <= now;
            boolean leaseDue = s != null && s.leaseDeadline <= now;
            if (awaitDue && (!leaseDue || w.deadline <= s.leaseDeadline)) {
                breakBarrier(w.barrier, BreakCause.TIMEOUT, party(w), w.timeoutMillis + " ms", w, Outcome.TIMED_OUT);
                drainQueue(w.barrier);
            } else if (leaseDue) {
                expireLease(s);
            } else {
                return;
            }
        }
    }

    private void cancel(Command.Cancel c) {
        Session s = sessions.get(c.session());
        Waiter w = s == null ? null : s.awaits.get(c.requestId());
        if (w == null) {
            return; // already answered: the cancel raced with the outcome
        }
        if (w.state == WaiterState.QUEUED) {
            w.cancelled = true; // like a CyclicBarrier thread interrupted while it waits for the lock
        } else if (w.barrier.runner == null) {
            breakBarrier(w.barrier, BreakCause.INTERRUPTED, party(w), "", w, Outcome.INTERRUPTED);
            drainQueue(w.barrier);
        }
        // In a tripping generation the action's outcome decides; the cancel changes nothing.
    }

    private void actionDone(Command.ActionDone c) {
        Session s = sessions.get(c.session());
        Waiter w = s == null ? null : s.awaits.get(c.requestId());
        if (w == null || w.barrier.runner != w) {
            return; // the generation was broken (abort, reset, shutdown) while the action ran
        }
        Barrier b = w.barrier;
        if (c.failure() == null) {
            b.runner = null;
            release(b);
        } else {
            breakBarrier(b, BreakCause.ACTION_FAILED, party(w), c.failure(), w, Outcome.ACTION_FAILED);
            drainQueue(b);
        }
    }

    /**
     * Breaks the current generation of {@code b}: every arrived party gets FAILED ({@code culprit} gets
     * {@code culpritOutcome}, the rest BROKEN) and the barrier stays broken until reset. Queued awaits are
     * left for {@link #drainQueue}.
     */
    private void breakBarrier(Barrier b, BreakCause cause, String culprit, String detail, Waiter culpritWaiter,
                              Outcome culpritOutcome) {
        List<String> arrived = new ArrayList<>(b.arrived.size());
        Set<Session> present = new HashSet<>();
        b.nameParties();
        for (Waiter w : b.arrived) {
            arrived.add(w.party);
            present.add(w.session);
        }
        List<String> notArrived = new ArrayList<>();
        for (Session d : b.declarers) {
            if (!present.contains(d) && d.open) {
                notArrived.add(d.name);
            }
        }
        BreakReason reason = new BreakReason(b.name, b.generation, cause, culprit, detail, b.parties, arrived,
                notArrived);
        b.broken = reason;
        b.runner = null;
        emit(new Effect.Broken(reason));
        for (Waiter w : b.arrived) {
            deadlines.remove(w);
            Outcome o = w == culpritWaiter ? culpritOutcome : Outcome.BROKEN;
            finish(w, new Effect.Failed(w.session.id, w.requestId, o, reason));
        }
        b.clearArrived();
    }

    /** The party name of {@code w}, an arrived waiter: given when first needed (see {@link Barrier#nameParties}). */
    private static String party(Waiter w) {
        w.barrier.nameParties();
        return w.party;
    }

    /** Lets awaits queued behind a tripping generation join the barrier, until it trips again. */
    private void drainQueue(Barrier b) {
        while (b.runner == null && !b.queued.isEmpty()) {
            join(b, b.queued.poll());
        }
    }

    /** Sends {@code w}'s final answer (if its session is still open) and forgets {@code w}. */
    private void finish(Waiter w, Effect.Answer answer) {
        w.state = WaiterState.DONE;
        w.barrier.heldBytes -= w.contribution.length;
        w.session.awaits.remove(w.requestId);
        reply(w.session, answer);
    }

    private void reply(Session s, Effect.Answer answer) {
        if (s.open) {
            out.accept(answer);
        }
    }

    private void emit(Effect event) {
        out.accept(event);
    }

    /** Null when {@code name} is a valid barrier name, else what is wrong with it. */
    static String checkName(String name, int maxBytes) {
        int n = name.getBytes(StandardCharsets.UTF_8).length;
        if (n == 0) {
            return "barrier name must not be empty";
        }
        if (n > maxBytes) {
            return "barrier name is " + n + " bytes of UTF-8; the limit is " + maxBytes;
        }
        return null;
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE - 1 : r;
    }

    // ---- snapshots -----------------------------------------------------------------------------------------------

    /**
     * Writes the whole state, so that {@link #readSnapshot} makes a core that answers every later command exactly as
     * this one would: a replica that loads it needs no log before it. Sessions, barriers and awaits are written
     * once each, and refer to each other by index.
     */
    public void writeSnapshot(DataOutput out) throws IOException {
        // Closed sessions can still have parties in a tripping generation (released when its action is done).
        Map<Session, Integer> sessionIndex = new IdentityHashMap<>();
        List<Session> allSessions = new ArrayList<>(sessions.values());
        Map<Waiter, Integer> waiterIndex = new IdentityHashMap<>();
        List<Waiter> waiters = new ArrayList<>();
        for (Barrier b : barriers.values()) {
            for (Waiter w : b.arrived) {
                index(w, waiters, waiterIndex);
            }
            for (Waiter w : b.queued) {
                index(w, waiters, waiterIndex);
            }
        }
        for (Session sn : sessions.values()) {
            for (Waiter w : sn.awaits.values()) {
                index(w, waiters, waiterIndex);
            }
        }
        for (Waiter w : waiters) {
            if (!w.session.open && !sessionIndex.containsKey(w.session)) {
                sessionIndex.put(w.session, -1);
                allSessions.add(w.session);
            }
        }
        for (int i = 0; i < allSessions.size(); i++) {
            sessionIndex.put(allSessions.get(i), i);
        }
        out.writeLong(nextSeq);
        out.writeInt(allSessions.size());
        for (Session sn : allSessions) {
            out.writeLong(sn.id);
            SnapshotStrings.write(out, sn.name);
            out.writeLong(sn.leaseMillis);
            out.writeLong(sn.leaseDeadline);
            out.writeLong(sn.silentSince);
            out.writeLong(sn.closedGrace);
            out.writeBoolean(sn.open);
        }
        out.writeInt(barriers.size());
        for (Barrier b : barriers.values()) {
            SnapshotStrings.write(out, b.name);
            out.writeInt(b.parties);
            out.writeInt(b.named);
            out.writeLong(b.generation);
            out.writeLong(b.firstArrivalAt);
            out.writeLong(b.heldBytes);
            out.writeInt(b.exchanges);
            SnapshotStrings.writeAll(out, b.usedNames);
            out.writeInt(b.lastSuffix.size());
            for (Map.Entry<String, Integer> e : b.lastSuffix.entrySet()) {
                SnapshotStrings.write(out, e.getKey());
                out.writeInt(e.getValue());
            }
            out.writeBoolean(b.broken != null);
            if (b.broken != null) {
                BreakReason r = b.broken;
                out.writeLong(r.generation());
                out.writeByte(r.cause().code());
                SnapshotStrings.write(out, r.culprit());
                SnapshotStrings.write(out, r.detail());
                out.writeInt(r.parties());
                SnapshotStrings.writeAll(out, r.arrived());
                SnapshotStrings.writeAll(out, r.notArrived());
            }
        }
        out.writeInt(waiters.size());
        for (Waiter w : waiters) {
            out.writeInt(sessionIndex.get(w.session));
            out.writeLong(w.requestId);
            SnapshotStrings.write(out, w.barrier.name);
            out.writeLong(w.timeoutMillis);
            out.writeLong(w.deadline);
            out.writeBoolean(w.runsAction);
            out.writeBoolean(w.exchange);
            out.writeInt(w.contribution.length);
            out.write(w.contribution);
            out.writeLong(w.seq);
            out.writeByte(w.state.ordinal());
            out.writeBoolean(w.cancelled);
            out.writeBoolean(w.party != null);
            if (w.party != null) {
                SnapshotStrings.write(out, w.party);
            }
            out.writeLong(w.arrivedAt);
        }
        for (Session sn : allSessions) {
            out.writeInt(sn.awaits.size());
            for (Waiter w : sn.awaits.values()) {
                out.writeInt(waiterIndex.get(w));
            }
            out.writeInt(sn.declared.size());
            for (Barrier b : sn.declared) {
                SnapshotStrings.write(out, b.name);
            }
        }
        for (Barrier b : barriers.values()) {
            out.writeInt(b.declarers.size());
            for (Session d : b.declarers) {
                out.writeInt(sessionIndex.get(d));
            }
            out.writeInt(b.arrived.size());
            for (Waiter w : b.arrived) {
                out.writeInt(waiterIndex.get(w));
            }
            out.writeInt(b.queued.size());
            for (Waiter w : b.queued) {
                out.writeInt(waiterIndex.get(w));
            }
            out.writeInt(b.runner == null ? -1 : waiterIndex.get(b.runner));
        }
    }

    /**
     * A core in the state {@link #writeSnapshot} wrote, with {@code limits} (those of the node that loads it).
     * Total: bytes that are not such a state fail with {@link BoundedReader.Malformed}, whatever they hold.
     */
    public static BarrierCore readSnapshot(BoundedReader in, Limits limits) throws BoundedReader.Malformed {
        BarrierCore core = new BarrierCore(limits);
        core.nextSeq = in.u64();
        Session[] ss = new Session[in.count(45)];
        for (int i = 0; i < ss.length; i++) {
            Session sn = new Session(in.u64(), in.string(), in.u64());
            sn.leaseDeadline = in.u64();
            sn.silentSince = in.u64();
            sn.closedGrace = in.u64();
            sn.open = in.bool();
            ss[i] = sn;
            if (sn.open) {
                if (core.sessions.put(sn.id, sn) != null) {
                    throw new BoundedReader.Malformed("session " + sn.id + " twice");
                }
                if (sn.leaseDeadline != NO_DEADLINE) {
                    core.leases.add(sn);
                }
            }
        }
        Barrier[] bs = new Barrier[in.count(46)];
        for (int i = 0; i < bs.length; i++) {
            Barrier b = new Barrier(in.string(), in.u32());
            b.named = in.u32();
            b.generation = in.u64();
            b.firstArrivalAt = in.u64();
            b.heldBytes = in.u64();
            b.exchanges = in.u32();
            b.usedNames.addAll(in.strings());
            for (int n = in.count(8); n > 0; n--) {
                b.lastSuffix.put(in.string(), in.u32());
            }
            if (in.bool()) {
                long generation = in.u64();
                int code = in.u8();
                BreakCause cause;
                try {
                    cause = BreakCause.fromCode(code);
                } catch (RuntimeException e) {
                    throw new BoundedReader.Malformed("a break cause of " + code);
                }
                b.broken = new BreakReason(b.name, generation, cause, in.string(), in.string(), in.u32(),
                        in.strings(), in.strings());
            }
            bs[i] = b;
            if (core.barriers.put(b.name, b) != null) {
                throw new BoundedReader.Malformed("barrier '" + b.name + "' twice");
            }
        }
        Waiter[] ws = new Waiter[in.count(56)];
        for (int i = 0; i < ws.length; i++) {
            Session sn = ss[in.index(ss.length, false)];
            long requestId = in.u64();
            Barrier b = barrier(core, in.string());
            long timeout = in.u64();
            long deadline = in.u64();
            boolean runsAction = in.bool();
            boolean exchange = in.bool();
            byte[] contribution = in.lengthPrefixed();
            Waiter w = new Waiter(sn, requestId, b, timeout, deadline, runsAction, exchange, contribution, in.u64());
            int state = in.u8();
            if (state >= WaiterState.values().length) {
                throw new BoundedReader.Malformed("a waiter state of " + state);
            }
            w.state = WaiterState.values()[state];
            w.cancelled = in.bool();
            w.party = in.bool() ? in.string() : null;
            w.arrivedAt = in.u64();
            ws[i] = w;
        }
        for (Session sn : ss) {
            for (int n = in.count(4); n > 0; n--) {
                Waiter w = ws[in.index(ws.length, false)];
                sn.awaits.put(w.requestId, w);
            }
            for (int n = in.count(4); n > 0; n--) {
                sn.declared.add(barrier(core, in.string()));
            }
        }
        for (Barrier b : bs) {
            for (int n = in.count(4); n > 0; n--) {
                b.declarers.add(ss[in.index(ss.length, false)]);
            }
            for (int n = in.count(4); n > 0; n--) {
                b.arrived.add(ws[in.index(ws.length, false)]);
            }
            for (int n = in.count(4); n > 0; n--) {
                b.queued.add(ws[in.index(ws.length, false)]);
            }
            int runner = in.index(ws.length, true);
            b.runner = runner < 0 ? null : ws[runner];
            if (b.runner == null) {
                for (Waiter w : b.arrived) { // as join() keeps them: the deadlines of an untripped generation
                    if (w.deadline != NO_DEADLINE) {
                        core.deadlines.add(w);
                    }
                }
            }
        }
        return core;
    }

    private static Barrier barrier(BarrierCore core, String name) throws BoundedReader.Malformed {
        Barrier b = core.barriers.get(name);
        if (b == null) {
            throw new BoundedReader.Malformed("a reference to barrier '" + name + "', which it does not hold");
        }
        return b;
    }

    private static void index(Waiter w, List<Waiter> all, Map<Waiter, Integer> index) {
        if (index.putIfAbsent(w, all.size()) == null) {
            all.add(w);
        }
    }

    // ---- state ---------------------------------------------------------------------------------------------------

    private enum WaiterState { QUEUED, WAITING, DONE }

    private static final class Session {
        final long id;
        final String name;
        final long leaseMillis;
        /** When the lease expires while disconnected; {@link #NO_DEADLINE} while connected. */
        long leaseDeadline = NO_DEADLINE;
        long silentSince;
        /**
         * While disconnected: the grace its closed connection left it, when that (not the lease) sets
         * {@link #leaseDeadline}; else {@link Command.Disconnect#SILENT}.
         */
        long closedGrace = Command.Disconnect.SILENT;
        /** Outstanding awaits in arrival order, so a lost session is reported by its first party. */
        final Map<Long, Waiter> awaits = new LinkedHashMap<>();
        final Set<Barrier> declared = new LinkedHashSet<>();
        boolean open = true;

        Session(long id, String name, long leaseMillis) {
            this.id = id;
            this.name = name;
            this.leaseMillis = leaseMillis;
        }
    }

    private static final class Waiter {
        final Session session;
        final long requestId;
        final Barrier barrier;
        final long timeoutMillis;
        final long deadline;
        final boolean runsAction;
        final boolean exchange;
        final byte[] contribution;
        final long seq;
        WaiterState state = WaiterState.QUEUED;
        boolean cancelled;
        /** Its name among the parties of its generation; null until {@link Barrier#nameParties} gives it one. */
        String party;
        long arrivedAt;

        Waiter(Session session, long requestId, Barrier barrier, long timeoutMillis, long deadline,
               boolean runsAction, boolean exchange, byte[] contribution, long seq) {
            this.session = session;
            this.requestId = requestId;
            this.barrier = barrier;
            this.timeoutMillis = timeoutMillis;
            this.deadline = deadline;
            this.runsAction = runsAction;
            this.exchange = exchange;
            this.contribution = contribution;
            this.seq = seq;
        }
    }

    private static final class Barrier {
        final String name;
        final int parties;
        final Set<Session> declarers = new LinkedHashSet<>();
        final List<Waiter> arrived = new ArrayList<>();
        final ArrayDeque<Waiter> queued = new ArrayDeque<>();
        /** Party names used in this generation, and the last suffix given to each client name. */
        final Set<String> usedNames = new HashSet<>();
        final Map<String, Integer> lastSuffix = new HashMap<>();
        /** How many of {@link #arrived}, from the first, have their party names. */
        int named;
        long generation = 1;
        long firstArrivalAt;
        /** Contribution bytes of the awaits this barrier holds (arrived and queued). */
        long heldBytes;
        /** Arrived parties of this generation that asked for the contributions (exchanges). */
        int exchanges;
        BreakReason broken;
        /** The last party, running the barrier action: non-null while the generation is tripping. */
        Waiter runner;

        Barrier(String name, int parties) {
            this.name = name;
            this.parties = parties;
        }

        /**
         * Names the arrived parties that have no name yet, in arrival order: the client's name for its first party
         * in a generation, {@code name#2}, {@code name#3} for more. Names are given only when something shows them (a
         * break, a status, an exchange's contributions) — a plain release needs none — and in arrival order, so a
         * party's name is the same whenever it is asked for.
         */
        void nameParties() {
            for (; named < arrived.size(); named++) {
                Waiter w = arrived.get(named);
                w.party = uniquePartyName(w.session.name);
            }
        }

        /** Ends the arrived parties' part in this generation (released or broken). */
        void clearArrived() {
            arrived.clear();
            named = 0;
            exchanges = 0;
        }

        void nextGeneration() {
            generation++;
            usedNames.clear();
            lastSuffix.clear();
        }

        private String uniquePartyName(String clientName) {
            if (usedNames.add(clientName)) {
                return clientName;
            }
            int k = lastSuffix.getOrDefault(clientName, 1);
            String candidate;
            do {
                candidate = clientName + "#" + (++k);
            } while (!usedNames.add(candidate));
            lastSuffix.put(clientName, k);
            return candidate;
        }

        List<Contribution> contributions() {
            nameParties();
            List<Contribution> cs = new ArrayList<>(arrived.size());
            for (Waiter w : arrived) {
                cs.add(new Contribution(w.party, w.contribution));
            }
            return cs;
        }

        BarrierView view(long now) {
            nameParties();
            List<BarrierView.WaitingParty> ws = new ArrayList<>(arrived.size());
            for (Waiter w : arrived) {
                ws.add(new BarrierView.WaitingParty(w.party, now - w.arrivedAt));
            }
            return new BarrierView(name, parties, generation, broken, ws);
        }
    }

}
