package io.lockstep.player;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/** Waiting in tests: on a condition with a deadline, or for a scenario's stated duration. */
final class Waiting {

    private Waiting() {
    }

    /** Polls {@code condition} until it holds; fails the test if it has not within {@code limit}. */
    static void waitFor(Duration limit, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("condition did not hold within " + limit);
            }
            Thread.sleep(10);
        }
    }

    /** The network stays in its state for this long: the scenario's duration, not a synchronisation. */
    static void holdFor(Duration d) throws InterruptedException {
        Thread.sleep(d.toMillis());
    }
}
