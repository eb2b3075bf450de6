package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BoundedReader;
import io.lockstep.coordinator.core.Input;
import io.netty.util.concurrent.EventExecutor;

import java.io.DataOutput;
import java.io.IOException;
import java.util.List;

/**
 * The way up through the seam: what a {@link CommandLog} may call on what applies its inputs (the node's
 * {@link CoreDriver}). A log orders inputs and hands them back here to be applied; it never reaches past this to the
 * connections or the state.
 *
 * <p>Unless a method says otherwise, called on {@link #executor()} only.
 */
public interface Applier {

    /** The one thread the state lives on; every other method is called on it. Any thread. */
    EventExecutor executor();

    /** This node's monotonic clock, in milliseconds (its origin means nothing). Any thread. */
    long localMillis();

    /** The time of the inputs applied so far: the latest stamp. */
    long appliedMillis();

    /** Applies {@code input} as at {@code stampMillis}. */
    void apply(Input input, long stampMillis);

    /**
     * Applies one log entry's inputs, in order, as at {@code stampMillis}; {@code entry} names it in what is logged.
     * Returns how many failed to apply (each logged).
     */
    int applyEntry(List<Input> inputs, long stampMillis, Object entry);

    /**
     * This node now leads, everything committed before applied: the inputs that say so, and that start the lease of
     * every session the old leader served, are submitted through the log before anything else.
     */
    void tookOver(Input.Leader self);

    /** This node no longer leads: its connections are told where to go ({@link CommandLog#elsewhere}) and closed. */
    void leadershipLost();

    /** How many parties {@code barrier} still awaits in its current generation as applied (0 if not held). */
    int stillToArrive(String barrier);

    /** The node the applied inputs last announced as leader, or null. */
    Input.Leader announcedLeader();

    /** Writes the state as a snapshot (see {@link io.lockstep.coordinator.core.CoordinatorState#writeSnapshot}). */
    void writeSnapshot(DataOutput out) throws IOException;

    /**
     * Replaces the state with the one {@code in} holds; {@link BoundedReader.Malformed} if it holds none (the state
     * then unchanged). Any thread; done when it returns.
     */
    void loadSnapshot(BoundedReader in) throws BoundedReader.Malformed;

    /** What the node counts; a log adds its own figures. Any thread. */
    Metrics metrics();
}
