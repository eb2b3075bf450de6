package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.Input;
import io.lockstep.protocol.Message;

import java.util.List;

/**
 * Where the driver's inputs go: the one seam between the connections and the state they change. A single
 * coordinator applies each input at once ({@link Local}); a replica of a group proposes it to the group's log and
 * applies it when the log has ordered it, as every other replica does. Everything above (connections, sessions as
 * this node serves them) and below ({@link io.lockstep.coordinator.core.CoordinatorState}) is the same in both.
 *
 * <p>Called on the driver's executor only.
 */
public interface CommandLog {

    /**
     * Puts {@code input} in the log; it is applied through {@link CoreDriver#applied} on the driver's executor.
     * {@code nowMillis} is the driver's clock, read by the caller already.
     */
    void submit(Input input, long nowMillis);

    /**
     * As {@link #submit}, for an input nobody waits on yet — an arrival that cannot complete its generation, an
     * acknowledgement: a log that makes entries may hold it a moment to put it in one entry with what comes next
     * (never past the next input that is not such, never reordered). A single coordinator applies it at once.
     */
    default void submitMayWait(Input input, long nowMillis) {
        submit(input, nowMillis);
    }

    /** Whether inputs submitted here are applied (this node leads its group, or is alone). */
    boolean accepting();

    /**
     * The time on the state's timeline now, in milliseconds: what an input submitted now is applied at, and what
     * deadlines are compared to. Monotonic; its origin means nothing. A single coordinator's is its own monotonic
     * clock; a group's is continued by each leader from the time it took over at.
     */
    long now();

    /**
     * While a deadline is pending, an input goes into the log at least this often, so that the time the log holds is
     * never older than this: a leader that takes over continues from it (a single coordinator's time needs none).
     */
    default long clockEntryEveryMillis() {
        return Long.MAX_VALUE;
    }

    /**
     * Why clients should not be sent to this node now, in words an operator can act on; null if they should (what
     * {@code /readyz} answers). Any thread.
     */
    default String notReady() {
        return null;
    }

    /** True for a node of a group: its stopping is one node leaving, not the service stopping. */
    default boolean isGroup() {
        return false;
    }

    /** In a group, the node that leads it as far as this node knows; null if none or alone. */
    default String leaderNode() {
        return null;
    }

    /** The answer to GROUP: a single coordinator has no group. */
    default Message.GroupStatus groupStatus() {
        return new Message.GroupStatus("", "", 0, 0, List.of());
    }

    /** Starts what the log needs, once the node serves clients on {@code clientPort}. */
    default void start(int clientPort) throws java.io.IOException {
    }

    /** Stops it, after the node stopped serving clients. */
    default void stop() {
    }

    /** A single coordinator: every input is applied at once, on the caller's thread, at the node's clock. */
    final class Local implements CommandLog {
        private final CoreDriver driver;

        Local(CoreDriver driver) {
            this.driver = driver;
        }

        @Override
        public void submit(Input input, long nowMillis) {
            driver.applied(input, nowMillis);
        }

        @Override
        public boolean accepting() {
            return true;
        }

        @Override
        public long now() {
            return driver.localMillis();
        }
    }
}
