package io.lockstep.coordinator.core;

import io.lockstep.protocol.BreakCause;

import java.util.List;

/**
 * Why a barrier generation broke, with everything a person needs to act on it.
 *
 * @param culprit    the party that broke it (timed out, interrupted, lost, ran the failing action), or the
 *                   client that aborted or reset it; empty for a shutdown
 * @param detail     cause-specific words: the timeout, why a party was lost, the action's failure
 * @param arrived    the parties that had arrived in this generation, in arrival order
 * @param notArrived clients that declared the barrier but had no party waiting in this generation
 */
public record BreakReason(String barrier, long generation, BreakCause cause, String culprit, String detail,
                          int parties, List<String> arrived, List<String> notArrived) {

    public BreakReason {
        arrived = List.copyOf(arrived);
        notArrived = List.copyOf(notArrived);
    }

    /**
     * The sentence every broken await carries, e.g.
     * {@code barrier 'game' generation 3 broken: party 'nijam' timed out after 2000 ms; 3 of 4 arrived: susan,
     * pratik, nijam; not arrived: suman}.
     */
    public String message() {
        StringBuilder sb = new StringBuilder(128)
                .append("barrier '").append(barrier).append("' generation ").append(generation).append(" broken: ");
        switch (cause) {
            case TIMEOUT -> sb.append("party '").append(culprit).append("' timed out after ").append(detail);
            case INTERRUPTED -> sb.append("party '").append(culprit).append("' was interrupted");
            case ABORT -> sb.append("aborted by '").append(culprit).append('\'');
            case RESET -> sb.append("reset by '").append(culprit).append('\'');
            case LOST_PARTY -> sb.append("party '").append(culprit).append("' was lost: ").append(detail);
            case ACTION_FAILED -> sb.append("the barrier action of party '").append(culprit).append("' failed: ")
                    .append(detail);
            case SHUTDOWN -> sb.append(detail);
        }
        sb.append("; ").append(arrived.size()).append(" of ").append(parties).append(" arrived");
        if (!arrived.isEmpty()) {
            sb.append(": ").append(String.join(", ", arrived));
        }
        if (!notArrived.isEmpty()) {
            sb.append("; not arrived: ").append(String.join(", ", notArrived));
        }
        return sb.toString();
    }
}
