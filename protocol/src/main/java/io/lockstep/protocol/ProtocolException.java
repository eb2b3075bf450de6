package io.lockstep.protocol;

/** A frame that breaks the protocol; carries the {@link ErrorCode} to answer it with. */
public final class ProtocolException extends RuntimeException {
    private final ErrorCode code;

    public ProtocolException(ErrorCode code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }
}
