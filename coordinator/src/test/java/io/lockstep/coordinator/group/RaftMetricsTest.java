package io.lockstep.coordinator.group;

import org.apache.ratis.metrics.LongCounter;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.apache.ratis.metrics.Timekeeper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RaftMetricsTest {

    private static final MetricRegistryInfo LOG_WORKER =
            new MetricRegistryInfo("n1@group-1", "ratis", "log_worker", "the log worker of n1");

    @Test
    void ratisFindsLockstepsRegistriesAndNoOther() {
        // Two implementations on the class path and Ratis would warn and take whichever its ServiceLoader met first.
        assertInstanceOf(RaftMetrics.class, MetricRegistries.global());
    }

    @Test
    void aRegistryLivesUntilRemovedAsOftenAsItWasCreated() {
        RaftMetrics metrics = new RaftMetrics();
        RatisMetricRegistry first = metrics.create(LOG_WORKER);
        assertSame(first, metrics.create(LOG_WORKER), "the same component gets the same registry");
        assertEquals(1, metrics.getMetricRegistries().size());
        assertFalse(metrics.remove(LOG_WORKER), "created twice, removed once: still there");
        assertSame(first, metrics.get(LOG_WORKER).orElseThrow());
        assertTrue(metrics.remove(LOG_WORKER));
        assertTrue(metrics.get(LOG_WORKER).isEmpty());
        assertTrue(metrics.getMetricRegistryInfos().isEmpty());
    }

    @Test
    void countersCountTimersCountAndAddUpAndGaugesAreRead() {
        RaftMetrics.Registry registry = (RaftMetrics.Registry) new RaftMetrics().create(LOG_WORKER);
        LongCounter appends = registry.counter("appends");
        appends.inc();
        appends.inc(4);
        appends.dec();
        assertEquals(4, registry.counter("appends").getCount());

        RaftMetrics.Timer flushes = (RaftMetrics.Timer) registry.timer("flush");
        Timekeeper.Context one = flushes.time();
        long elapsed = one.stop();
        Timekeeper.start(flushes).close();
        assertEquals(2, flushes.count.sum());
        assertTrue(elapsed >= 0 && flushes.nanos.sum() >= elapsed, flushes.nanos.sum() + " ns for " + elapsed);

        long[] queued = {7};
        registry.gauge("queued", () -> () -> queued[0]);
        queued[0] = 9;
        assertEquals(9L, registry.gauge("queued"));
        assertTrue(registry.remove("queued"));
        assertNull(registry.gauge("queued"));
        assertFalse(registry.remove("queued"));
    }
}
