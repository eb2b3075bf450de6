package io.lockstep.coordinator.server;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/** Waiting in tests: on a condition, with a deadline (the client and player test modules have their own). */
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
}
