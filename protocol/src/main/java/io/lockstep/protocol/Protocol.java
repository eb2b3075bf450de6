package io.lockstep.protocol;

/**
 * Constants of the Lockstep wire protocol. The byte layout of every frame is in {@code protocol/PROTOCOL.md}
 * and in the Javadoc of {@link MessageCodec}.
 */
public final class Protocol {
    /** The first four bytes of every HELLO body: ASCII "LKST". */
    public static final int MAGIC = 0x4C4B5354;
    /**
     * The protocol version this code speaks. 2 added GOODBYE's {@code exiting} byte, GROUP and GROUP_STATUS, UNDECLARE
     * and the error NOT_LEADER.
     */
    public static final short VERSION = 2;
    /** The oldest version a coordinator still serves: a version-1 client uses none of what 2 added. */
    public static final short MIN_VERSION = 1;
    /** Default TCP port of the coordinator's protocol. */
    public static final int DEFAULT_PORT = 7777;
    /** Default TCP port of the coordinator's HTTP admin endpoints. */
    public static final int DEFAULT_HTTP_PORT = 7778;
    /**
     * Default hard maximum of a frame's length field (the bytes after the 4-byte length prefix). Every client
     * must accept frames of this size; the coordinator never sends a larger one (large releases are split).
     */
    public static final int DEFAULT_MAX_FRAME_BYTES = 1 << 20;
    /** Default largest contribution one party may bring to an exchange. */
    public static final int DEFAULT_MAX_CONTRIBUTION_BYTES = 64 * 1024;
    /** Room a contribution must leave in a frame for the frame's header and the party's name. */
    public static final int CONTRIBUTION_HEADROOM_BYTES = 1024;
    /** Smallest maximum frame size a peer may be configured with. */
    public static final int MIN_MAX_FRAME_BYTES = 1024;
    /** Length of the frame's length prefix. */
    public static final int LENGTH_PREFIX_BYTES = 4;
    /** Barrier names are 1..256 bytes of UTF-8. */
    public static final int MAX_BARRIER_NAME_BYTES = 256;
    /** Client names are 1..256 bytes of UTF-8. */
    public static final int MAX_CLIENT_NAME_BYTES = 256;
    /** Strings on the wire carry a u16 length, so no string exceeds this. */
    public static final int MAX_STRING_BYTES = 0xFFFF;
    /** Session lease granted when the client asks for none: how long a session outlives a cut connection. */
    public static final int DEFAULT_LEASE_MILLIS = 10_000;
    /** Timeout value meaning "wait without a deadline". */
    public static final long NO_TIMEOUT = -1;

    private Protocol() {
    }
}
