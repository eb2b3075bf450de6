package io.lockstep.coordinator.server;

import org.slf4j.Logger;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Warnings about bad connections, at most a few a second: one line per bad connection is right for a mistake and
 * wrong for a flood. Suppressed lines are counted and the count is reported with the next line. Thread-safe.
 */
final class RateLimitedLog {

    private static final int PER_SECOND = 10;

    private final Logger log;
    private final AtomicLong windowStart = new AtomicLong();
    private final AtomicLong inWindow = new AtomicLong();
    private final AtomicLong suppressed = new AtomicLong();

    RateLimitedLog(Logger log) {
        this.log = log;
    }

    void warn(String format, Object... args) {
        long second = System.nanoTime() / 1_000_000_000L;
        long start = windowStart.get();
        if (second != start && windowStart.compareAndSet(start, second)) {
            inWindow.set(0);
        }
        if (inWindow.incrementAndGet() > PER_SECOND) {
            suppressed.incrementAndGet();
            return;
        }
        long dropped = suppressed.getAndSet(0);
        if (dropped > 0) {
            log.warn("({} similar warnings suppressed)", dropped);
        }
        log.warn(format, args);
    }
}
