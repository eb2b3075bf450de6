package io.lockstep.coordinator.core;

import io.lockstep.protocol.Message.Contribution;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@link BarrierCore} holds: its sessions, barriers and waiting parties. Mutable, and changed only by the core
 * (and built by {@link BarrierSnapshot} when a snapshot is read).
 */
final class BarrierState {

    private BarrierState() {
    }

    enum WaiterState { QUEUED, WAITING, DONE }

    static final class Session {
        final long id;
        final String name;
        final long leaseMillis;
        /** When the lease expires while disconnected; {@link BarrierCore#NO_DEADLINE} while connected. */
        long leaseDeadline = BarrierCore.NO_DEADLINE;
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

    static final class Waiter {
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

    static final class Barrier {
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
