package io.lockstep.protocol;

/** Why a barrier generation broke. Carried by FAILED frames as one byte. */
public enum BreakCause {
    /** A party's deadline passed before all parties arrived. */
    TIMEOUT(1),
    /** A party's waiting thread was interrupted (the client sent CANCEL). */
    INTERRUPTED(2),
    /** Someone called {@code abort()}. */
    ABORT(3),
    /** Someone called {@code reset()} while parties were waiting. */
    RESET(4),
    /** A waiting party's session ended: its connection closed, or was cut for longer than its lease. */
    LOST_PARTY(5),
    /** The barrier action of the last party threw. */
    ACTION_FAILED(6),
    /** The coordinator is shutting down. */
    SHUTDOWN(7);

    private final int code;

    BreakCause(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static BreakCause fromCode(int code) {
        for (BreakCause c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "unknown break cause " + code);
    }
}
