package io.lockstep.protocol;

/**
 * Codes carried by ERROR frames. Codes below 100 are connection-level: the coordinator closes the connection
 * after sending them. Codes from 100 up answer one request and leave the connection usable.
 */
public enum ErrorCode {
    /** A frame whose body does not parse: short, trailing bytes, a bad string, a bad enum value. */
    MALFORMED_FRAME(1, true),
    /** A frame whose length prefix exceeds the peer's maximum frame size. */
    FRAME_TOO_LARGE(2, true),
    /** A HELLO whose magic number is not {@link Protocol#MAGIC}. */
    BAD_MAGIC(3, true),
    /** A HELLO whose protocol version the coordinator does not speak. */
    UNSUPPORTED_VERSION(4, true),
    /** A request sent before the handshake completed. */
    HANDSHAKE_REQUIRED(5, true),
    /** A second HELLO on a connection that already has a session. */
    DUPLICATE_HANDSHAKE(6, true),
    /** A type code that names no message, or one that travels the other way. */
    UNKNOWN_TYPE(7, true),
    /** The coordinator is stopping and accepts nothing more. */
    SHUTTING_DOWN(8, true),
    /** A request id of 0 (closes the connection), or one already in use by an outstanding await (answers it). */
    BAD_REQUEST_ID(9, false),
    /** The coordinator requires authentication, and the connection sent something other than AUTH. */
    AUTH_REQUIRED(10, true),
    /** The AUTH answer does not prove knowledge of the shared secret. */
    AUTH_FAILED(11, true),
    /** The coordinator speaks only TLS, and the connection did not start a TLS handshake. */
    TLS_REQUIRED(12, true),
    /** The coordinator holds as many connections as it allows (in total, or from this address). */
    TOO_MANY_CONNECTIONS(13, true),
    /** The connection does not read what it is sent, and the coordinator will not hold more for it. */
    SLOW_CONSUMER(14, true),
    /**
     * This node of a coordinator group does not lead it and serves no sessions; the message is the leader's client
     * address ({@code host:port}), or empty while none is known.
     */
    NOT_LEADER(15, true),

    /** A request argument out of range: empty or over-long name, parties below 1, a bad timeout. */
    INVALID_ARGUMENT(100, false),
    /** A declaration whose party count differs from the barrier's. */
    PARTIES_MISMATCH(101, false),
    /** A request naming a barrier the coordinator does not hold. */
    UNKNOWN_BARRIER(102, false),
    /** An await on a barrier this session has not declared. */
    NOT_DECLARED(103, false),
    /** A limit of the coordinator was reached. */
    LIMIT_EXCEEDED(104, false),
    /** The coordinator failed on a request through no fault of the client. */
    INTERNAL(199, false);

    private final int code;
    private final boolean fatal;

    ErrorCode(int code, boolean fatal) {
        this.code = code;
        this.fatal = fatal;
    }

    public int code() {
        return code;
    }

    /** True when the coordinator closes the connection after sending this error. */
    public boolean fatal() {
        return fatal;
    }

    public static ErrorCode fromCode(int code) {
        for (ErrorCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        throw new ProtocolException(MALFORMED_FRAME, "unknown error code " + code);
    }
}
