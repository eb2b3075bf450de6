package io.lockstep.client;

import io.lockstep.protocol.BreakCause;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;

/**
 * One await in flight: receives RUN_ACTION (runs the barrier action on {@code actionExecutor} and reports the
 * outcome) and then the final RELEASED or FAILED, which completes {@link #result}. The future fails with the
 * exception the caller should see: {@link BarrierBrokenException}, {@link TimeoutException}, the action's own
 * exception, {@link Interrupted} (for a cancelled await), or {@link LockstepException}.
 */
final class AwaitCall implements ClientSession.Outstanding {

    /** The coordinator confirms that this await was withdrawn after its thread was interrupted. */
    static final class Interrupted extends RuntimeException {
        Interrupted(String message) {
            super(message, null, false, false);
        }
    }

    final CompletableFuture<Message.Released> result = new CompletableFuture<>();
    /** Contributions of a split release received so far in RELEASE_PART frames; touched on the event loop only. */
    private List<Message.Contribution> parts;
    final long requestId;
    private final String barrier;
    private final Runnable action;
    private final Executor actionExecutor;
    private final ClientSession session;
    private volatile Throwable actionFailure;

    AwaitCall(long requestId, String barrier, Runnable action, Executor actionExecutor, ClientSession session) {
        this.requestId = requestId;
        this.barrier = barrier;
        this.action = action;
        this.actionExecutor = actionExecutor;
        this.session = session;
    }

    @Override
    public boolean onReply(Message.Reply reply) {
        switch (reply.type()) {
            case RUN_ACTION -> {
                actionExecutor.execute(this::runAction);
                return false;
            }
            case RELEASE_PART -> {
                if (parts == null) {
                    parts = new ArrayList<>();
                }
                parts.addAll(((Message.ReleasePart) reply).contributions());
                return false;
            }
            case RELEASED -> {
                Message.Released r = (Message.Released) reply;
                if (parts != null) {
                    parts.addAll(r.contributions());
                    r = new Message.Released(r.requestId(), r.generation(), r.arrivalOrder(), parts);
                }
                result.complete(r);
            }
            case FAILED -> result.completeExceptionally(toException((Message.Failed) reply));
            case ERROR -> {
                Message.Error e = (Message.Error) reply;
                result.completeExceptionally(e.code() == ErrorCode.INVALID_ARGUMENT
                        ? new IllegalArgumentException(e.message())
                        : new LockstepException("coordinator refused await on '" + barrier + "': " + e.message()));
            }
            default -> result.completeExceptionally(
                    new LockstepException("coordinator answered an await with " + reply.type()));
        }
        return true;
    }

    @Override
    public void onSessionEnded(String why, boolean lost) {
        String message = "barrier '" + barrier + "' broken for this client: " + why;
        result.completeExceptionally(lost ? new SessionLostException(barrier, message)
                : new BarrierBrokenException(barrier, 0, BreakCause.LOST_PARTY, "", message));
    }

    /** What the barrier action threw when this party ran it, or null. */
    Throwable actionFailure() {
        return actionFailure;
    }

    /** Asks the coordinator to withdraw this await; the outcome still arrives as the final reply. */
    void cancel() {
        session.sendOneWay(new Message.Cancel(requestId));
    }

    private void runAction() {
        String failure = null;
        try {
            action.run();
        } catch (Throwable t) {
            actionFailure = t;
            failure = t.getMessage() == null ? t.getClass().getName() : t.getClass().getName() + ": " + t.getMessage();
        }
        session.sendOneWay(new Message.ActionDone(requestId, failure));
    }

    private Throwable toException(Message.Failed f) {
        return switch (f.outcome()) {
            case TIMED_OUT -> new TimeoutException(f.message());
            case INTERRUPTED -> new Interrupted(f.message());
            case ACTION_FAILED -> actionFailure != null ? actionFailure : broken(f);
            case BROKEN -> broken(f);
        };
    }

    private BarrierBrokenException broken(Message.Failed f) {
        return new BarrierBrokenException(barrier, f.generation(), f.cause(), f.culprit(), f.message());
    }
}
