package io.lockstep.coordinator.core;

import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message.Contribution;
import io.lockstep.protocol.Outcome;

import java.util.List;

/**
 * An output of {@link BarrierCore}: an answer addressed to one request of one session, or an event the server
 * reports (logs, metrics). The server turns answers into frames; answers to sessions that have closed are never
 * produced.
 */
public sealed interface Effect {

    /** An effect that answers request {@code requestId} of {@code session}. */
    sealed interface Answer extends Effect {
        long session();

        long requestId();
    }

    /** DECLARE, ABORT or RESET succeeded. */
    record Ok(long session, long requestId) implements Answer {
    }

    /** The request was refused; nothing changed. */
    record Rejected(long session, long requestId, ErrorCode code, String message) implements Answer {
    }

    /** The await passed. {@code order} is 0 for the first to arrive. */
    record Released(long session, long requestId, String barrier, long generation, int order,
                    List<Contribution> contributions) implements Answer {
    }

    /** The await did not pass. */
    record Failed(long session, long requestId, Outcome outcome, BreakReason reason) implements Answer {
    }

    /** The await arrived last and holds an action: the client must run it and report with ACTION_DONE. */
    record RunAction(long session, long requestId, String barrier, long generation) implements Answer {
    }

    /** The answer to a query. */
    record Status(long session, long requestId, BarrierView view) implements Answer {
    }

    /** The answer to a list request: every barrier, by name. */
    record StatusList(long session, long requestId, List<BarrierView> views) implements Answer {
    }

    /** Event: all parties arrived and were released. {@code roundMillis} runs from the first arrival. */
    record Tripped(String barrier, long generation, int parties, long roundMillis) implements Effect {
    }

    /**
     * Event: a session's time to come back ran out (its lease after a cut, or the grace after its connection was
     * closed); the session is gone, its waits cancelled. {@code why} says which, in words, as the parties hear it.
     */
    record SessionExpired(long session, String clientName, long silentMillis, String why) implements Effect {
    }

    /** Event: a generation broke. */
    record Broken(BreakReason reason) implements Effect {
    }
}
