package io.lockstep.client;

import io.lockstep.protocol.BreakCause;

/**
 * This client's session with the coordinator ended without the client closing it: it was cut off for longer
 * than its lease, or the coordinator restarted and lost its state. Every await the session had pending fails
 * with this; the barriers it waited on broke for the other parties, naming it. The client opens a new session
 * by itself and declares its barriers again, so after a {@code reset()} it can take part in the next round.
 */
public final class SessionLostException extends BarrierBrokenException {
    public SessionLostException(String barrier, String message) {
        super(barrier, 0, BreakCause.LOST_PARTY, "", message);
    }

    @Override
    SessionLostException inCallingThread() {
        SessionLostException here = new SessionLostException(barrier(), getMessage());
        here.initCause(this);
        return here;
    }
}
