package io.lockstep.coordinator.group;

import org.apache.ratis.metrics.LongCounter;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.apache.ratis.metrics.Timekeeper;
import org.apache.ratis.util.TimeDuration;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Where Ratis keeps its own metrics in a Lockstep node: counted, never reported. Ratis times every log write, flush,
 * append and request through this interface (found by {@link java.util.ServiceLoader}); its Dropwizard
 * implementation keeps a decaying reservoir per timer and a JMX reporter, 4 to 6 % of a node's CPU on the hot path
 * of every round. Lockstep's {@code /metrics} reports what an operator of a group needs (term, commit and applied
 * index, leader changes, batch sizes, commit times) from the node itself, so here a counter counts, a timer counts
 * its events and their total time, a gauge is kept, and nothing more.
 */
public final class RaftMetrics extends MetricRegistries {

    /** Ratis creates a registry per component and server, and removes it as often as it created it. */
    private final Map<MetricRegistryInfo, Registry> registries = new ConcurrentHashMap<>();

    @Override
    public RatisMetricRegistry create(MetricRegistryInfo info) {
        return registries.compute(info, (k, r) -> {
            Registry registry = r == null ? new Registry(info) : r;
            registry.references++;
            return registry;
        });
    }

    @Override
    public boolean remove(MetricRegistryInfo info) {
        return registries.computeIfPresent(info, (k, r) -> --r.references == 0 ? null : r) == null;
    }

    @Override
    public Optional<RatisMetricRegistry> get(MetricRegistryInfo info) {
        return Optional.ofNullable(registries.get(info));
    }

    @Override
    public Set<MetricRegistryInfo> getMetricRegistryInfos() {
        return Set.copyOf(registries.keySet());
    }

    @Override
    public Collection<RatisMetricRegistry> getMetricRegistries() {
        return List.copyOf(registries.values());
    }

    @Override
    public void clear() {
        registries.clear();
    }

    /** Nothing is reported: there is no reporter to register. */
    @Override
    public void addReporterRegistration(Consumer<RatisMetricRegistry> start, Consumer<RatisMetricRegistry> stop) {
    }

    @Override
    public void enableJmxReporter() {
    }

    @Override
    public void enableConsoleReporter(TimeDuration rate) {
    }

    /** One component's metrics. */
    static final class Registry implements RatisMetricRegistry {
        private final MetricRegistryInfo info;
        /** Guarded by the map of registries (changed only inside its compute functions). */
        private int references;
        private final Map<String, Counter> counters = new ConcurrentHashMap<>();
        private final Map<String, Timer> timers = new ConcurrentHashMap<>();
        private final Map<String, Supplier<?>> gauges = new ConcurrentHashMap<>();

        Registry(MetricRegistryInfo info) {
            this.info = info;
        }

        @Override
        public Timekeeper timer(String name) {
            return timers.computeIfAbsent(name, n -> new Timer());
        }

        @Override
        public LongCounter counter(String name) {
            return counters.computeIfAbsent(name, n -> new Counter());
        }

        @Override
        public <T> void gauge(String name, Supplier<Supplier<T>> gauge) {
            gauges.put(name, gauge.get());
        }

        @Override
        public boolean remove(String name) {
            return counters.remove(name) != null | timers.remove(name) != null | gauges.remove(name) != null;
        }

        @Override
        public MetricRegistryInfo getMetricRegistryInfo() {
            return info;
        }

        /** The value of gauge {@code name} now, or null. */
        Object gauge(String name) {
            Supplier<?> g = gauges.get(name);
            return g == null ? null : g.get();
        }
    }

    static final class Counter implements LongCounter {
        private final LongAdder count = new LongAdder();

        @Override
        public void inc(long n) {
            count.add(n);
        }

        @Override
        public void dec(long n) {
            count.add(-n);
        }

        @Override
        public long getCount() {
            return count.sum();
        }
    }

    /** Counts what it times and adds up the time; no distribution. */
    static final class Timer implements Timekeeper {
        final LongAdder count = new LongAdder();
        final LongAdder nanos = new LongAdder();

        @Override
        public Context time() {
            long start = System.nanoTime();
            return () -> {
                long elapsed = System.nanoTime() - start;
                count.increment();
                nanos.add(elapsed);
                return elapsed;
            };
        }
    }
}
