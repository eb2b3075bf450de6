package io.lockstep.coordinator.core;

import io.lockstep.protocol.BreakCause;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message.Contribution;
import io.lockstep.protocol.Outcome;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A deliberately plain second implementation of the barrier semantics, for {@link BarrierCoreModelTest}: lists
 * instead of indexes, scans instead of sorted sets, one method per command written straight from DESIGN.md.
 * It is slow and that is fine; it only has to be obviously right.
 */
final class ReferenceModel {

    static final long NONE = Long.MAX_VALUE;

    final int maxContribution;
    final long maxBarrier;
    final BarrierCore.Limits limits;

    ReferenceModel(BarrierCore.Limits limits) {
        this.limits = limits;
        this.maxContribution = limits.maxContributionBytes();
        this.maxBarrier = limits.maxBarrierBytes();
    }

    static final class W {
        boolean exchange;
        long session;
        long req;
        B barrier;
        long timeout;
        long deadline;
        boolean action;
        byte[] data;
        long seq;
        boolean queued;
        boolean cancelled;
        String party;
        long arrivedAt;
    }

    static final class B {
        String name;
        int parties;
        long gen = 1;
        BreakReason broken;
        List<W> arrived = new ArrayList<>();
        List<W> queue = new ArrayList<>();
        List<Long> declarers = new ArrayList<>();
        W runner;
        long firstAt;
    }

    final Map<Long, String> sessions = new LinkedHashMap<>();
    final Map<Long, Long> leaseOf = new LinkedHashMap<>();
    /** Disconnected sessions: when they went silent. */
    final Map<Long, Long> silentSince = new LinkedHashMap<>();
    /** Disconnected sessions whose closed connection's grace ends before their lease: {grace, when it ends}. */
    final Map<Long, long[]> graceOf = new LinkedHashMap<>();
    final Map<String, B> barriers = new LinkedHashMap<>();
    final List<W> outstanding = new ArrayList<>();
    long seq;
    long now;
    List<Effect> out;

    List<Effect> apply(Command c, long time) {
        now = time;
        out = new ArrayList<>();
        if (c instanceof Command.OpenSession o) {
            sessions.put(o.session(), o.clientName());
            leaseOf.put(o.session(), o.leaseMillis());
        } else if (c instanceof Command.Disconnect d) {
            if (sessions.containsKey(d.session()) && !silentSince.containsKey(d.session())) {
                silentSince.put(d.session(), d.silentSinceMillis());
                long leaseEnds = d.silentSinceMillis() + leaseOf.get(d.session());
                if (d.closedGraceMillis() >= 0 && now + d.closedGraceMillis() < leaseEnds) {
                    graceOf.put(d.session(), new long[]{d.closedGraceMillis(), now + d.closedGraceMillis()});
                }
            }
        } else if (c instanceof Command.Reconnect r) {
            silentSince.remove(r.session());
            graceOf.remove(r.session());
        } else if (refusedForAWaitingAwaitsId(c)) {
            assert !out.isEmpty(); // refused: its answer is out, and the await that holds the id waits on
        } else if (c instanceof Command.Declare d) {
            declare(d);
        } else if (c instanceof Command.Arrive a) {
            arrive(a);
        } else if (c instanceof Command.Cancel x) {
            cancel(x);
        } else if (c instanceof Command.ActionDone d) {
            actionDone(d);
        } else if (c instanceof Command.Abort a) {
            abort(a);
        } else if (c instanceof Command.Undeclare u) {
            undeclare(u);
        } else if (c instanceof Command.Reset r) {
            reset(r);
        } else if (c instanceof Command.Query q) {
            query(q);
        } else if (c instanceof Command.ListBarriers l) {
            if (sessions.containsKey(l.session())) {
                List<BarrierView> views = new ArrayList<>();
                barriers.values().stream().sorted(java.util.Comparator.comparing(b -> b.name)).forEach(b -> {
                    List<BarrierView.WaitingParty> ws = new ArrayList<>();
                    for (W w : b.arrived) {
                        ws.add(new BarrierView.WaitingParty(w.party, now - w.arrivedAt));
                    }
                    views.add(new BarrierView(b.name, b.parties, b.gen, b.broken, ws));
                });
                out.add(new Effect.StatusList(l.session(), l.requestId(), views));
            }
        } else if (c instanceof Command.Tick) {
            tick();
        } else if (c instanceof Command.CloseSession s) {
            close(s);
        } else if (c instanceof Command.Shutdown s) {
            for (B b : barriers.values()) {
                if (!b.arrived.isEmpty() || !b.queue.isEmpty()) {
                    breakIt(b, BreakCause.SHUTDOWN, "", s.why(), null, null);
                    drain(b);
                }
            }
        }
        return out;
    }

    private void answer(long session, Effect.Answer a) {
        if (sessions.containsKey(session)) {
            out.add(a);
        }
    }

    private void finish(W w, Effect.Answer a) {
        outstanding.remove(w);
        answer(w.session, a);
    }

    /** Any request but CANCEL and ACTION_DONE that carries the id of one of its session's waiting awaits. */
    private boolean refusedForAWaitingAwaitsId(Command c) {
        long[] sessionAndId = c instanceof Command.OwnRequest r ? new long[]{r.session(), r.requestId()} : null;
        if (sessionAndId == null || !sessions.containsKey(sessionAndId[0])) {
            return false;
        }
        for (W o : outstanding) {
            if (o.session == sessionAndId[0] && o.req == sessionAndId[1]) {
                out.add(new Effect.Rejected(sessionAndId[0], sessionAndId[1], ErrorCode.BAD_REQUEST_ID, "?"));
                return true;
            }
        }
        return false;
    }

    private void declare(Command.Declare d) {
        if (!sessions.containsKey(d.session())) {
            return;
        }
        int bytes = d.barrier().getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > limits.maxNameBytes() || d.parties() < 1) {
            out.add(new Effect.Rejected(d.session(), d.requestId(), ErrorCode.INVALID_ARGUMENT, "?"));
            return;
        }
        B b = barriers.get(d.barrier());
        if (b == null && barriers.size() >= limits.maxBarriers()) {
            out.add(new Effect.Rejected(d.session(), d.requestId(), ErrorCode.LIMIT_EXCEEDED, "?"));
            return;
        }
        if (b == null) {
            b = new B();
            b.name = d.barrier();
            b.parties = d.parties();
            barriers.put(b.name, b);
        } else if (b.parties != d.parties()) {
            out.add(new Effect.Rejected(d.session(), d.requestId(), ErrorCode.PARTIES_MISMATCH, "?"));
            return;
        }
        if (!b.declarers.contains(d.session())) {
            b.declarers.add(d.session());
        }
        out.add(new Effect.Ok(d.session(), d.requestId()));
    }

    private void arrive(Command.Arrive a) {
        if (!sessions.containsKey(a.session())) {
            return;
        }
        B b = barriers.get(a.barrier());
        if (a.timeoutMillis() < -1) {
            out.add(new Effect.Rejected(a.session(), a.requestId(), ErrorCode.INVALID_ARGUMENT, "?"));
            return;
        }
        if (b == null || !b.declarers.contains(a.session())) {
            out.add(new Effect.Rejected(a.session(), a.requestId(), ErrorCode.NOT_DECLARED, "?"));
            return;
        }
        long mine = outstanding.stream().filter(o -> o.session == a.session()).count();
        if (mine >= limits.maxAwaitsPerSession()) {
            out.add(new Effect.Rejected(a.session(), a.requestId(), ErrorCode.LIMIT_EXCEEDED, "?"));
            return;
        }
        long held = 0;
        for (W o : b.arrived) {
            held += o.data.length;
        }
        for (W o : b.queue) {
            held += o.data.length;
        }
        if (a.contribution().length > maxContribution || held + a.contribution().length > maxBarrier) {
            out.add(new Effect.Rejected(a.session(), a.requestId(), ErrorCode.INVALID_ARGUMENT, "?"));
            return;
        }
        W w = new W();
        w.session = a.session();
        w.req = a.requestId();
        w.barrier = b;
        w.timeout = a.timeoutMillis();
        w.deadline = a.timeoutMillis() < 0 ? NONE : now + a.timeoutMillis();
        w.action = a.runsAction();
        w.exchange = a.exchange();
        w.data = a.contribution();
        w.seq = seq++;
        outstanding.add(w);
        if (b.runner != null) {
            w.queued = true;
            b.queue.add(w);
        } else {
            join(b, w);
        }
    }

    private void join(B b, W w) {
        w.queued = false;
        if (b.broken != null) {
            finish(w, new Effect.Failed(w.session, w.req, Outcome.BROKEN, b.broken));
            return;
        }
        String name = sessions.get(w.session);
        String party = name;
        for (int k = 2; taken(b, party); k++) {
            party = name + "#" + k;
        }
        w.party = party;
        w.arrivedAt = now;
        if (b.arrived.isEmpty()) {
            b.firstAt = now;
        }
        b.arrived.add(w);
        if (w.cancelled) {
            breakIt(b, BreakCause.INTERRUPTED, w.party, "", w, Outcome.INTERRUPTED);
        } else if (b.arrived.size() == b.parties) {
            if (w.action) {
                b.runner = w;
                answer(w.session, new Effect.RunAction(w.session, w.req, b.name, b.gen));
            } else {
                release(b);
            }
        } else if (w.deadline <= now) {
            breakIt(b, BreakCause.TIMEOUT, w.party, w.timeout + " ms", w, Outcome.TIMED_OUT);
        }
    }

    private static boolean taken(B b, String party) {
        for (W w : b.arrived) {
            if (w.party.equals(party)) {
                return true;
            }
        }
        return false;
    }

    private void release(B b) {
        List<Contribution> cs = new ArrayList<>();
        for (W w : b.arrived) {
            cs.add(new Contribution(w.party, w.data));
        }
        out.add(new Effect.Tripped(b.name, b.gen, b.parties, now - b.firstAt));
        for (int i = 0; i < b.arrived.size(); i++) {
            W w = b.arrived.get(i);
            finish(w, new Effect.Released(w.session, w.req, b.name, b.gen, i, w.exchange ? cs : List.of()));
        }
        b.arrived.clear();
        b.runner = null;
        b.gen++;
        drain(b);
    }

    private void drain(B b) {
        while (b.runner == null && !b.queue.isEmpty()) {
            join(b, b.queue.remove(0));
        }
    }

    private void breakIt(B b, BreakCause cause, String culprit, String detail, W culpritW, Outcome culpritOutcome) {
        List<String> arrived = new ArrayList<>();
        for (W w : b.arrived) {
            arrived.add(w.party);
        }
        List<String> notArrived = new ArrayList<>();
        for (long d : b.declarers) {
            boolean present = false;
            for (W w : b.arrived) {
                present |= w.session == d;
            }
            if (!present && sessions.containsKey(d)) {
                notArrived.add(sessions.get(d));
            }
        }
        b.broken = new BreakReason(b.name, b.gen, cause, culprit, detail, b.parties, arrived, notArrived);
        b.runner = null;
        out.add(new Effect.Broken(b.broken));
        for (W w : new ArrayList<>(b.arrived)) {
            finish(w, new Effect.Failed(w.session, w.req, w == culpritW ? culpritOutcome : Outcome.BROKEN, b.broken));
        }
        b.arrived.clear();
    }

    private W find(long session, long req) {
        for (W w : outstanding) {
            if (w.session == session && w.req == req) {
                return w;
            }
        }
        return null;
    }

    private void cancel(Command.Cancel c) {
        W w = find(c.session(), c.requestId());
        if (w == null || !sessions.containsKey(c.session())) {
            return;
        }
        if (w.queued) {
            w.cancelled = true;
        } else if (w.barrier.runner == null) {
            breakIt(w.barrier, BreakCause.INTERRUPTED, w.party, "", w, Outcome.INTERRUPTED);
            drain(w.barrier);
        }
    }

    private void actionDone(Command.ActionDone d) {
        W w = find(d.session(), d.requestId());
        if (w == null || w.barrier.runner != w) {
            return;
        }
        if (d.failure() == null) {
            release(w.barrier);
        } else {
            B b = w.barrier;
            breakIt(b, BreakCause.ACTION_FAILED, w.party, d.failure(), w, Outcome.ACTION_FAILED);
            drain(b);
        }
    }

    private B known(long session, long req, String name) {
        if (!sessions.containsKey(session)) {
            return null;
        }
        B b = barriers.get(name);
        if (b == null) {
            out.add(new Effect.Rejected(session, req, ErrorCode.UNKNOWN_BARRIER, "?"));
        }
        return b;
    }

    private void undeclare(Command.Undeclare u) {
        if (!sessions.containsKey(u.session())) {
            return;
        }
        B b = barriers.get(u.barrier());
        if (b == null || !b.declarers.contains(u.session())) {
            out.add(new Effect.Rejected(u.session(), u.requestId(), ErrorCode.NOT_DECLARED, "?"));
            return;
        }
        for (W w : outstanding) {
            if (w.session == u.session() && w.barrier == b) {
                out.add(new Effect.Rejected(u.session(), u.requestId(), ErrorCode.INVALID_ARGUMENT, "?"));
                return;
            }
        }
        b.declarers.remove(u.session());
        if (b.declarers.isEmpty() && b.arrived.isEmpty() && b.queue.isEmpty()) {
            barriers.remove(b.name);
        }
        out.add(new Effect.Ok(u.session(), u.requestId()));
    }

    private void abort(Command.Abort a) {
        B b = known(a.session(), a.requestId(), a.barrier());
        if (b == null) {
            return;
        }
        if (b.broken == null) {
            breakIt(b, BreakCause.ABORT, sessions.get(a.session()), "", null, null);
            drain(b);
        }
        out.add(new Effect.Ok(a.session(), a.requestId()));
    }

    private void reset(Command.Reset r) {
        B b = known(r.session(), r.requestId(), r.barrier());
        if (b == null) {
            return;
        }
        if (!b.arrived.isEmpty()) {
            breakIt(b, BreakCause.RESET, sessions.get(r.session()), "", null, null);
        }
        b.broken = null;
        b.gen++;
        drain(b);
        out.add(new Effect.Ok(r.session(), r.requestId()));
    }

    private void query(Command.Query q) {
        B b = known(q.session(), q.requestId(), q.barrier());
        if (b == null) {
            return;
        }
        List<BarrierView.WaitingParty> ws = new ArrayList<>();
        for (W w : b.arrived) {
            ws.add(new BarrierView.WaitingParty(w.party, now - w.arrivedAt));
        }
        out.add(new Effect.Status(q.session(), q.requestId(), new BarrierView(b.name, b.parties, b.gen, b.broken, ws)));
    }

    private void tick() {
        while (true) {
            W first = null;
            for (W w : outstanding) {
                boolean live = !w.queued && w.barrier.runner == null && w.deadline != NONE && w.deadline <= now;
                if (live && (first == null || w.deadline < first.deadline
                        || (w.deadline == first.deadline && w.seq < first.seq))) {
                    first = w;
                }
            }
            Long lapsed = null;
            long lapsedAt = NONE;
            for (Map.Entry<Long, Long> e : silentSince.entrySet()) {
                long at = graceOf.containsKey(e.getKey()) ? graceOf.get(e.getKey())[1]
                        : e.getValue() + leaseOf.get(e.getKey());
                if (at <= now && (lapsed == null || at < lapsedAt || (at == lapsedAt && e.getKey() < lapsed))) {
                    lapsed = e.getKey();
                    lapsedAt = at;
                }
            }
            if (first != null && (lapsed == null || first.deadline <= lapsedAt)) {
                breakIt(first.barrier, BreakCause.TIMEOUT, first.party, first.timeout + " ms", first,
                        Outcome.TIMED_OUT);
                drain(first.barrier);
            } else if (lapsed != null) {
                long silent = now - silentSince.get(lapsed);
                long lease = leaseOf.get(lapsed);
                long[] grace = graceOf.get(lapsed);
                String why = grace != null
                        ? String.format(java.util.Locale.ROOT,
                        "its connection was closed and it did not come back within %.1f s", grace[0] / 1000.0)
                        : String.format(java.util.Locale.ROOT,
                        "silent for %.1f s; its session lease of %s expired", silent / 1000.0,
                        lease % 1000 == 0 ? lease / 1000 + " s"
                                : String.format(java.util.Locale.ROOT, "%.1f s", lease / 1000.0));
                out.add(new Effect.SessionExpired(lapsed, sessions.get(lapsed), silent, why));
                breakWhereExpected(lapsed, why + (grace != null ? ", before it arrived" : " before it arrived"));
                close(new Command.CloseSession(lapsed, why));
            } else {
                return;
            }
        }
    }

    /** Barriers the session declared, where others wait and it has not arrived, break now. */
    private void breakWhereExpected(long session, String why) {
        for (B b : new ArrayList<>(barriers.values())) {
            boolean mine = false;
            for (W w : b.arrived) {
                mine |= w.session == session;
            }
            if (b.declarers.contains(session) && b.broken == null && b.runner == null && !b.arrived.isEmpty()
                    && !mine) {
                breakIt(b, BreakCause.LOST_PARTY, sessions.get(session), why, null, null);
                drain(b);
            }
        }
    }

    private void close(Command.CloseSession c) {
        if (c.cannotCome() && sessions.containsKey(c.session())) {
            breakWhereExpected(c.session(), c.why() + ", before it arrived");
        }
        String name = sessions.remove(c.session());
        silentSince.remove(c.session());
        graceOf.remove(c.session());
        if (name == null) {
            return;
        }
        for (W w : new ArrayList<>(outstanding)) {
            if (w.session != c.session() || !outstanding.contains(w)) {
                continue;
            }
            B b = w.barrier;
            if (w.queued) {
                b.queue.remove(w);
                outstanding.remove(w);
            } else if (b.runner == null || b.runner == w) {
                breakIt(b, BreakCause.LOST_PARTY, w.party, c.why(), w, Outcome.BROKEN);
                drain(b);
            }
        }
        outstanding.removeIf(w -> w.session == c.session());
        for (B b : new ArrayList<>(barriers.values())) {
            b.declarers.remove(c.session());
            if (b.declarers.isEmpty() && b.arrived.isEmpty() && b.queue.isEmpty()) {
                barriers.remove(b.name);
            }
        }
    }
}
