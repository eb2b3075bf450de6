package io.lockstep.coordinator.core;

import java.util.List;

/**
 * A snapshot of one barrier for queries and admin endpoints.
 *
 * @param broken  why the barrier is broken, or null
 * @param waiting the parties waiting in the current generation, in arrival order
 */
public record BarrierView(String name, int parties, long generation, BreakReason broken, List<WaitingParty> waiting) {

    public BarrierView {
        waiting = List.copyOf(waiting);
    }

    /** A party at the barrier and how long it has waited, in milliseconds. */
    public record WaitingParty(String party, long waitedMillis) {
    }
}
