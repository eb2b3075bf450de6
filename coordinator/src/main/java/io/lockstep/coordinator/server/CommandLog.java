package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.Input;

/**
 * Where the driver's inputs go: the one seam between the connections and the state they change. A single
 * coordinator applies each input at once ({@link Local}); a replica of a group proposes it to the group's log and
 * applies it when the log has ordered it, as every other replica does. Everything above (connections, sessions as
 * this node serves them) and below ({@link io.lockstep.coordinator.core.CoordinatorState}) is the same in both.
 *
 * <p>Called on the driver's executor only.
 */
interface CommandLog {

    /**
     * Puts {@code input} in the log; it is applied through {@link CoreDriver#applied} on the driver's executor.
     * {@code nowMillis} is the driver's clock, read by the caller already.
     */
    void submit(Input input, long nowMillis);

    /** Whether inputs submitted here are applied (this node leads its group, or is alone). */
    boolean accepting();

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
    }
}
