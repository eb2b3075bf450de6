package io.lockstep.protocol;

/**
 * How an await that did not pass ended, from the point of view of the party that sent it. Carried by FAILED
 * frames as one byte. Clients map it to their language's exceptions (Java: {@code TimeoutException},
 * {@code InterruptedException}, the action's own exception, else {@code BrokenBarrierException}).
 */
public enum Outcome {
    /** The generation broke for a reason outside this await (or the barrier was already broken). */
    BROKEN(1),
    /** This await's own deadline passed; it broke the barrier for the others. */
    TIMED_OUT(2),
    /** This await was cancelled by its client (an interrupted thread); it broke the barrier for the others. */
    INTERRUPTED(3),
    /** This await ran the barrier action, which failed; it broke the barrier for the others. */
    ACTION_FAILED(4);

    private final int code;

    Outcome(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static Outcome fromCode(int code) {
        for (Outcome o : values()) {
            if (o.code == code) {
                return o;
            }
        }
        throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "unknown outcome " + code);
    }
}
