package io.lockstep.client;

import io.lockstep.protocol.Message;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What one party received when an exchange at the barrier released: every party's contribution, the same set
 * for all parties, in arrival order and by party name, plus this party's own place in it. Nobody receives any
 * contribution before all parties have arrived, and nobody receives any if the generation breaks.
 *
 * <p>Party names are the client names; a second party of the same client in one generation (another thread on
 * the same connection) is {@code name#2}, a third {@code name#3}. Immutable.
 */
public final class Exchange {

    /** One party's contribution. {@link #data()} returns a copy. */
    public record Contribution(String party, byte[] data) {
        public Contribution {
            Objects.requireNonNull(party, "party");
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Contribution c && c.party.equals(party) && Arrays.equals(c.data, data);
        }

        @Override
        public int hashCode() {
            return 31 * party.hashCode() + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return party + "(" + data.length + " bytes)";
        }
    }

    private final String barrier;
    private final long generation;
    private final int parties;
    private final int arrivalOrder;
    private final List<Contribution> contributions;

    Exchange(String barrier, int parties, Message.Released released, List<Message.Contribution> all) {
        this.barrier = barrier;
        this.generation = released.generation();
        this.parties = parties;
        this.arrivalOrder = released.arrivalOrder();
        this.contributions = all.stream().map(c -> new Contribution(c.party(), c.data())).toList();
    }

    public String barrier() {
        return barrier;
    }

    /** The generation that released. */
    public long generation() {
        return generation;
    }

    /** This party's arrival index, as {@link DistributedBarrier#await()} returns it: parties-1 first, 0 last. */
    public int index() {
        return parties - 1 - arrivalOrder;
    }

    /** This party's arrival order: 0 for the first to arrive. Its own contribution is at this position. */
    public int arrivalOrder() {
        return arrivalOrder;
    }

    /** This party's name in this generation. */
    public String party() {
        return contributions.get(arrivalOrder).party();
    }

    /** Every contribution, in arrival order. */
    public List<Contribution> contributions() {
        return contributions;
    }

    /** Every contribution by party name, iterating in arrival order. */
    public Map<String, byte[]> byParty() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        contributions.forEach(c -> m.put(c.party(), c.data()));
        return Collections.unmodifiableMap(m);
    }

    @Override
    public String toString() {
        return "Exchange[" + barrier + " generation " + generation + ", " + contributions + "]";
    }
}
