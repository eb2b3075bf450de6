package io.lockstep.client;

/**
 * Lockstep could not do what was asked for a reason outside the barrier's semantics: the coordinator is
 * unreachable, the connection was lost, or the coordinator refused the request.
 */
public class LockstepException extends RuntimeException {
    public LockstepException(String message) {
        super(message);
    }

    public LockstepException(String message, Throwable cause) {
        super(message, cause);
    }
}
