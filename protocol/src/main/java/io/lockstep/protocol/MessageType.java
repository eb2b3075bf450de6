package io.lockstep.protocol;

/**
 * The one-byte type code that follows every frame's length prefix. Codes below 0x80 travel from client to
 * coordinator, codes from 0x80 up from coordinator to client.
 */
public enum MessageType {
    HELLO(0x01),
    DECLARE(0x02),
    AWAIT(0x03),
    CANCEL(0x04),
    ACTION_DONE(0x05),
    ABORT(0x06),
    RESET(0x07),
    QUERY(0x08),
    PING(0x09),
    GOODBYE(0x0A),
    AUTH(0x0B),
    LIST(0x0C),
    ACK(0x0D),
    GROUP(0x0E),
    UNDECLARE(0x0F),
    ADMIN(0x10),

    WELCOME(0x81),
    OK(0x82),
    RELEASED(0x83),
    FAILED(0x84),
    RUN_ACTION(0x85),
    STATUS(0x86),
    ERROR(0x87),
    RELEASE_PART(0x88),
    PONG(0x89),
    CHALLENGE(0x8A),
    BARRIERS(0x8B),
    GROUP_STATUS(0x8C),
    ADMIN_RESULT(0x8D);

    private static final MessageType[] BY_CODE = new MessageType[256];

    static {
        for (MessageType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;

    MessageType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** @throws ProtocolException with {@link ErrorCode#UNKNOWN_TYPE} for a code that names no message */
    public static MessageType fromCode(int code) {
        MessageType t = (code >= 0 && code < BY_CODE.length) ? BY_CODE[code] : null;
        if (t == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_TYPE, String.format("unknown message type 0x%02x", code));
        }
        return t;
    }
}
