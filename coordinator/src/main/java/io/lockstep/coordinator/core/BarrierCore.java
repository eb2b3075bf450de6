package io.lockstep.coordinator.core;

import io.lockstep.coordinator.core.BarrierState.Barrier;
import io.lockstep.coordinator.core.BarrierState.Session;
import io.lockstep.coordinator.core.BarrierState.Waiter;
import io.lockstep.coordinator.core.BarrierState.WaiterState;
import io.lockstep.protocol.BreakCause;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message.Contribution;
import io.lockstep.protocol.Outcome;
import io.lockstep.protocol.Protocol;

import java.io.DataOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
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

    // The state (its classes in BarrierState); package-private for the snapshot codec (BarrierSnapshot) only.
    final Map<Long, Session> sessions = new HashMap<>();
    final Map<String, Barrier> barriers = new HashMap<>();
    final TreeSet<Waiter> deadlines = new TreeSet<>(
            Comparator.comparingLong((Waiter w) -> w.deadline).thenComparingLong(w -> w.seq));
    /** Disconnected sessions, by when their lease expires. */
    final TreeSet<Session> leases = new TreeSet<>(
            Comparator.comparingLong((Session s) -> s.leaseDeadline).thenComparingLong(s -> s.id));
    long nextSeq;

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
     * this one would: a replica that loads it needs no log before it (see {@link BarrierSnapshot}).
     */
    public void writeSnapshot(DataOutput out) throws IOException {
        BarrierSnapshot.write(this, out);
    }

    /**
     * A core in the state {@link #writeSnapshot} wrote, with {@code limits} (those of the node that loads it).
     * Total: bytes that are not such a state fail with {@link BoundedReader.Malformed}, whatever they hold.
     */
    public static BarrierCore readSnapshot(BoundedReader in, Limits limits) throws BoundedReader.Malformed {
        return BarrierSnapshot.read(in, limits);
    }
}
