package io.lockstep.coordinator.core;

import io.lockstep.coordinator.core.BarrierState.Barrier;
import io.lockstep.coordinator.core.BarrierState.Session;
import io.lockstep.coordinator.core.BarrierState.Waiter;
import io.lockstep.coordinator.core.BarrierState.WaiterState;
import io.lockstep.protocol.BreakCause;

import java.io.DataOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The byte layout of a {@link BarrierCore}'s snapshot: sessions, barriers and awaits, each written once, referring to
 * each other by index. Reading is total (through {@link BoundedReader}): bytes that are not a snapshot fail with
 * {@link BoundedReader.Malformed}, never with anything else, and allocate at most a small multiple of their size.
 */
final class BarrierSnapshot {

    private BarrierSnapshot() {
    }

    /**
     * Writes the whole of {@code core}, so that {@link #read} makes a core that answers every later command exactly as
     * this one would: a replica that loads it needs no log before it. Sessions, barriers and awaits are written
     * once each, and refer to each other by index.
     */
    static void write(BarrierCore core, DataOutput out) throws IOException {
        // Closed core.sessions can still have parties in a tripping generation (released when its action is done).
        Map<Session, Integer> sessionIndex = new IdentityHashMap<>();
        List<Session> allSessions = new ArrayList<>(core.sessions.values());
        Map<Waiter, Integer> waiterIndex = new IdentityHashMap<>();
        List<Waiter> waiters = new ArrayList<>();
        for (Barrier b : core.barriers.values()) {
            for (Waiter w : b.arrived) {
                index(w, waiters, waiterIndex);
            }
            for (Waiter w : b.queued) {
                index(w, waiters, waiterIndex);
            }
        }
        for (Session sn : core.sessions.values()) {
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
        out.writeLong(core.nextSeq);
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
        out.writeInt(core.barriers.size());
        for (Barrier b : core.barriers.values()) {
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
        for (Barrier b : core.barriers.values()) {
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
     * A core in the state {@link #write} wrote, with {@code limits} (those of the node that loads it).
     * Total: bytes that are not such a state fail with {@link BoundedReader.Malformed}, whatever they hold.
     */
    static BarrierCore read(BoundedReader in, BarrierCore.Limits limits) throws BoundedReader.Malformed {
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
                if (sn.leaseDeadline != BarrierCore.NO_DEADLINE) {
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
                    if (w.deadline != BarrierCore.NO_DEADLINE) {
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
}
