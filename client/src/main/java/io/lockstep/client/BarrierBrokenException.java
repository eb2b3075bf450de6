package io.lockstep.client;

import io.lockstep.protocol.BreakCause;

import java.util.concurrent.BrokenBarrierException;

/**
 * A {@link BrokenBarrierException} that also says, as data, why the barrier broke. Its message is the
 * coordinator's full sentence, e.g.
 * {@code barrier 'game' generation 3 broken: party 'nijam' timed out after 2000 ms; 3 of 4 arrived: ...}.
 * Catch {@code BrokenBarrierException} as with {@code CyclicBarrier}; cast to this when the detail matters.
 */
public class BarrierBrokenException extends BrokenBarrierException {

    private final String barrier;
    private final long generation;
    private final BreakCause breakCause;
    private final String culprit;

    public BarrierBrokenException(String barrier, long generation, BreakCause breakCause, String culprit,
                                  String message) {
        super(message);
        this.barrier = barrier;
        this.generation = generation;
        this.breakCause = breakCause;
        this.culprit = culprit;
    }

    public String barrier() {
        return barrier;
    }

    /** The generation that broke; 0 when the break was local (connection lost, client closed). */
    public long generation() {
        return generation;
    }

    /** Why the barrier broke; {@link BreakCause#LOST_PARTY} for a lost connection to the coordinator. */
    public BreakCause breakCause() {
        return breakCause;
    }

    /** The party or client that caused the break, or empty. */
    public String culprit() {
        return culprit;
    }

    /**
     * This exception made anew in the calling thread, so that its stack trace shows the caller's {@code await};
     * the original, made on the client's I/O thread when the coordinator's answer arrived, is its cause.
     */
    BarrierBrokenException inCallingThread() {
        BarrierBrokenException here = new BarrierBrokenException(barrier, generation, breakCause, culprit, getMessage());
        here.initCause(this);
        return here;
    }
}
