package io.lockstep.coordinator.server;

import io.lockstep.protocol.BreakCause;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.MessageType;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * What the coordinator counts, in Prometheus's model. Counters are updated where things happen (the core's
 * thread, connection threads) and are thread-safe; gauges are read when scraped. No metric keeps exemplars: there are
 * no traces to link them to, and sampling them put a rate limiter and a scheduled task on the per-message path.
 */
public final class Metrics {

    final PrometheusRegistry registry = new PrometheusRegistry();
    final Counter trips;
    final Counter breaks;
    final Counter framesRejected;
    final Counter sessionsLost;
    final Counter framesReceived;
    final Histogram roundSeconds;
    /** In a group: times this node took over as leader. */
    public final Counter leaderChanges;
    /** In a group: changes of leader this node has seen (the first election included). */
    public final Counter raftLeaderChanges = Counter.builder().name("lockstep_raft_leader_changes")
            .help("Changes of the group's leader this node has seen, the first election included").withoutExemplars()
            .build();
    /** In a group: inputs per log entry the leader proposed (group commit). */
    public final Histogram batchSizes;
    /** In a group: from proposing a log entry to its being applied here, on the leader (what replication costs). */
    public final Histogram commitSeconds;
    /**
     * In a group: log entries that did not decode, or whose inputs failed to apply, skipped alike on every replica.
     * Counted from the node's start, shown once the group's metrics are registered (a single coordinator has no log).
     */
    public final Counter badEntries = Counter.builder().name("lockstep_raft_bad_entries")
            .help("Log entries this node skipped because they did not decode or failed to apply").withoutExemplars()
            .build();
    /** The data point of {@link #framesReceived} for each client frame type, by type code. */
    private final CounterDataPoint[] framesReceivedByType = new CounterDataPoint[0x80];

    Metrics(IntSupplier sessions, IntSupplier barriers, IntSupplier connections) {
        trips = Counter.builder().name("lockstep_trips").help("Barrier generations that released all their parties")
                .withoutExemplars().register(registry);
        breaks = Counter.builder().name("lockstep_breaks").help("Barrier generations that broke, by cause")
                .labelNames("cause").withoutExemplars().register(registry);
        framesRejected = Counter.builder().name("lockstep_frames_rejected")
                .help("Frames answered with an error that closed the connection, by reason").labelNames("reason")
                .withoutExemplars().register(registry);
        framesReceived = Counter.builder().name("lockstep_frames_received")
                .help("Frames received from clients, by type (await, ping, ack, ...)").labelNames("type")
                .withoutExemplars().register(registry);
        for (MessageType t : MessageType.values()) {
            if (t.code() < framesReceivedByType.length) {
                framesReceivedByType[t.code()] = framesReceived.labelValues(t.name().toLowerCase());
            }
        }
        // The AWAIT frames, under the name operators look for first; read when scraped, not counted twice.
        CounterWithCallback.builder().name("lockstep_awaits").help("Awaits received (parties arriving at a barrier)")
                .callback(cb -> cb.call(framesReceived(MessageType.AWAIT))).register(registry);
        sessionsLost = Counter.builder().name("lockstep_sessions_lost")
                .help("Sessions whose lease expired after their connection was cut").withoutExemplars()
                .register(registry);
        roundSeconds = Histogram.builder().name("lockstep_round_seconds")
                .help("Time from a generation's first arrival to its release").classicOnly()
                .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                        30, 60, 300)
                .withoutExemplars().register(registry);
        leaderChanges = Counter.builder().name("lockstep_leader_changes")
                .help("Times this node of a group took over as its leader").withoutExemplars().register(registry);
        batchSizes = Histogram.builder().name("lockstep_batch_inputs")
                .help("Inputs in each log entry this node proposed as leader (what one event-loop turn brought)")
                .classicOnly().classicUpperBounds(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 16384)
                .withoutExemplars().register(registry);
        commitSeconds = Histogram.builder().name("lockstep_raft_commit_seconds")
                .help("Time from proposing a log entry to its being applied, on the leader: replication and the flush")
                .classicOnly().classicUpperBounds(0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.05, 0.1, 0.5,
                        1, 5)
                .withoutExemplars().register(registry);
        GaugeWithCallback.builder().name("lockstep_sessions").help("Open client sessions (connected or within lease)")
                .callback(cb -> cb.call(sessions.getAsInt())).register(registry);
        GaugeWithCallback.builder().name("lockstep_barriers").help("Barriers held")
                .callback(cb -> cb.call(barriers.getAsInt())).register(registry);
        GaugeWithCallback.builder().name("lockstep_connections").help("Open connections")
                .callback(cb -> cb.call(connections.getAsInt())).register(registry);
        // Every label value exists from the start, so a graph shows 0 rather than nothing.
        for (BreakCause c : BreakCause.values()) {
            breaks.labelValues(label(c)).inc(0);
        }
        for (ErrorCode c : ErrorCode.values()) {
            if (c.fatal()) {
                framesRejected.labelValues(c.name().toLowerCase()).inc(0);
            }
        }
        framesRejected.labelValues("tls_failed").inc(0);
    }

    /**
     * The metrics of a group node: its Raft term, commit and applied index, whether it leads (1) or follows (0), and
     * the calls its Raft port refused (read when scraped); and {@link #badEntries}.
     */
    public void group(LongSupplier term, LongSupplier commitIndex, LongSupplier appliedIndex, BooleanSupplier leads,
                      LongSupplier refusedCalls) {
        registry.register(badEntries);
        registry.register(raftLeaderChanges);
        CounterWithCallback.builder().name("lockstep_raft_calls_refused")
                .help("Calls to Ratis's client or admin service on this node's Raft port, refused")
                .callback(cb -> cb.call(refusedCalls.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("lockstep_raft_term").help("The Raft term this node is in")
                .callback(cb -> cb.call(term.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("lockstep_raft_commit_index").help("The highest log index known committed")
                .callback(cb -> cb.call(commitIndex.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("lockstep_raft_applied_index").help("The highest log index applied here")
                .callback(cb -> cb.call(appliedIndex.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("lockstep_raft_leader").help("1 while this node leads its group, else 0")
                .callback(cb -> cb.call(leads.getAsBoolean() ? 1 : 0)).register(registry);
    }

    /** Counts a frame a client sent; frames of the coordinator's own types are refused elsewhere, not counted. */
    void frameReceived(MessageType type) {
        if (type.code() < framesReceivedByType.length) {
            framesReceivedByType[type.code()].inc();
        }
    }

    /** How many frames of a client type the coordinator has received. */
    public long framesReceived(MessageType type) {
        return type.code() < framesReceivedByType.length ? (long) framesReceivedByType[type.code()].get() : 0;
    }

    /** The label of a break cause: its name in snake case (timeout, lost_party, ...). */
    static String label(BreakCause c) {
        return c.name().toLowerCase();
    }
}
