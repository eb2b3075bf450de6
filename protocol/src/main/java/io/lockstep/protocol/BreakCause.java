package io.lockstep.protocol;

/** Why a barrier generation broke. Carried by FAILED frames as one byte. */
public enum BreakCause {
    /** A party's deadline passed before all parties arrived. */
    TIMEOUT(1, "timed out"),
    /** A party's waiting thread was interrupted (the client sent CANCEL). */
    INTERRUPTED(2, "interrupted"),
    /** Someone called {@code abort()}. */
    ABORT(3, "aborted"),
    /** Someone called {@code reset()} while parties were waiting. */
    RESET(4, "reset"),
    /** A waiting party's session ended: its connection closed, or was cut for longer than its lease. */
    LOST_PARTY(5, "lost"),
    /** The barrier action of the last party threw. */
    ACTION_FAILED(6, "action failed"),
    /** The coordinator is shutting down. */
    SHUTDOWN(7, "shutdown");

    private final int code;
    private final String label;

    BreakCause(int code, String label) {
        this.code = code;
        this.label = label;
    }

    public int code() {
        return code;
    }

    /** A short lower-case word for logs and metrics labels. */
    public String label() {
        return label;
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
