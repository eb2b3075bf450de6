package io.lockstep.client;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A barrier as the coordinator sees it now: for operators and tools ({@link LockstepClient#barriers()},
 * {@link LockstepClient#status(String)}).
 *
 * @param brokenReason why the barrier is broken, or empty when it is not
 * @param waiting      the parties waiting in the current generation, in arrival order
 */
public record BarrierStatus(String name, int parties, long generation, Optional<String> brokenReason,
                            List<Waiting> waiting) {

    public BarrierStatus {
        waiting = List.copyOf(waiting);
    }

    /** A party waiting at the barrier, and for how long it has waited. */
    public record Waiting(String party, Duration waited) {
    }

    public boolean isBroken() {
        return brokenReason.isPresent();
    }
}
