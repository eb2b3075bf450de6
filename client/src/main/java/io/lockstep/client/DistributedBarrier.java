package io.lockstep.client;

import io.lockstep.protocol.BreakCause;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * A handle on a named barrier held by the coordinator; behaves like {@link java.util.concurrent.CyclicBarrier}
 * across processes. Each call to {@code await} is one party. A handle is immutable and thread-safe: any number
 * of threads may await on one handle at once.
 *
 * <p>Timeouts are enforced by the coordinator, so every party sees one consistent outcome; the client keeps
 * only a backstop for a coordinator that stops answering. The barrier action, when there is one, runs in the
 * thread of the party that arrives last (for {@code awaitAsync}, in {@link ForkJoinPool#commonPool()}) before
 * any party is released.
 */
public final class DistributedBarrier {

    /** How long after its own timeout a blocked await waits for the coordinator's verdict before giving up. */
    static final long BACKSTOP_GRACE_MILLIS = 5_000;
    /** How long an interrupted await waits for the coordinator to confirm the withdrawal. */
    static final long INTERRUPT_GRACE_MILLIS = 5_000;
    private static final Runnable WAKE = () -> { };

    private final LockstepClient client;
    private final String name;
    private final int parties;
    private final Runnable action;
    private final Duration defaultTimeout;
    /** The release's arrival index, as a function made once rather than per await. */
    private final Function<Message.Released, Integer> arrivalIndex = this::indexOf;

    DistributedBarrier(LockstepClient client, String name, int parties, Runnable action, Duration defaultTimeout) {
        this.client = client;
        this.name = name;
        this.parties = parties;
        this.action = action;
        this.defaultTimeout = defaultTimeout;
    }

    /**
     * Waits until all parties have called {@code await} on this barrier.
     *
     * @return the arrival index: {@code getParties() - 1} for the first to arrive, 0 for the last
     * @throws InterruptedException   if this thread was interrupted while waiting (the barrier breaks)
     * @throws BrokenBarrierException if the barrier broke while waiting, or was broken on arrival; with a
     *                                {@linkplain #withDefaultTimeout default timeout}, also when this party's
     *                                timeout elapsed (as Python's {@code Barrier.wait} does)
     */
    public int await() throws InterruptedException, BrokenBarrierException {
        return indexOf(awaitWithDefaultTimeout(null));
    }

    /**
     * Like {@link #await()}, but gives up after {@code timeout}: this party gets {@link TimeoutException} and
     * every other party of the generation {@link BrokenBarrierException}. A timeout of 0 passes only if this
     * party is the last to arrive.
     */
    public int await(long timeout, TimeUnit unit) throws InterruptedException, BrokenBarrierException,
            TimeoutException {
        return indexOf(awaitBlocking(toMillisCeil(Math.max(0, unit.toNanos(timeout))), null));
    }

    /** Arrives and returns at once; the future completes with the arrival index, or fails as {@link #await()}. */
    public CompletableFuture<Integer> awaitAsync() {
        return awaitAsync(defaultTimeout);
    }

    /** Arrives and returns at once; a null timeout waits without limit. The future fails with the same
     *  exceptions as {@link #await(long, TimeUnit)}. */
    public CompletableFuture<Integer> awaitAsync(Duration timeout) {
        return client.startAwait(name, millis(timeout), action, null, ForkJoinPool.commonPool())
                .result.thenApply(arrivalIndex);
    }

    /**
     * Arrives with {@code contribution} and waits, as {@link #await()}; on release, returns every party's
     * contribution (the same set for every party). A party that contributes nothing passes an empty array.
     *
     * @throws IllegalArgumentException if the contribution is over the coordinator's limit (64 KiB by default)
     *                                  or the barrier holds too many bytes already; the barrier is not broken
     */
    public Exchange exchange(byte[] contribution) throws InterruptedException, BrokenBarrierException {
        Objects.requireNonNull(contribution, "contribution");
        return toExchange(awaitWithDefaultTimeout(contribution));
    }

    /** As {@link #exchange(byte[])}, giving up after {@code timeout} as {@link #await(long, TimeUnit)} does. */
    public Exchange exchange(byte[] contribution, long timeout, TimeUnit unit) throws InterruptedException,
            BrokenBarrierException, TimeoutException {
        Objects.requireNonNull(contribution, "contribution");
        return toExchange(awaitBlocking(toMillisCeil(Math.max(0, unit.toNanos(timeout))), contribution));
    }

    /** As {@link #exchange(byte[])} without blocking; times out after the default timeout, if any. */
    public CompletableFuture<Exchange> exchangeAsync(byte[] contribution) {
        return exchangeAsync(contribution, defaultTimeout);
    }

    /** As {@link #exchange(byte[])} without blocking; a null timeout waits without limit. */
    public CompletableFuture<Exchange> exchangeAsync(byte[] contribution, Duration timeout) {
        Objects.requireNonNull(contribution, "contribution");
        return client.startAwait(name, millis(timeout), action, contribution, ForkJoinPool.commonPool())
                .result.thenApply(this::toExchange);
    }

    private int indexOf(Message.Released r) {
        return parties - 1 - r.arrivalOrder();
    }

    private Exchange toExchange(Message.Released r) {
        return new Exchange(name, parties, r, r.contributions());
    }

    private static long millis(Duration timeout) {
        return timeout == null ? Protocol.NO_TIMEOUT : toMillisCeil(Math.max(0, timeout.toNanos()));
    }

    /**
     * A blocking await with this handle's default timeout, if any. As Python's {@code Barrier.wait}, a party
     * whose default timeout elapses gets {@link BrokenBarrierException} (with the TimeoutException as cause).
     */
    private Message.Released awaitWithDefaultTimeout(byte[] contribution) throws InterruptedException,
            BrokenBarrierException {
        try {
            return awaitBlocking(millis(defaultTimeout), contribution);
        } catch (TimeoutException e) {
            if (defaultTimeout == null) {
                throw new AssertionError("an await without timeout timed out", e);
            }
            BrokenBarrierException b = new BarrierBrokenException(name, 0, BreakCause.TIMEOUT, client.name(),
                    e.getMessage());
            b.initCause(e);
            throw b;
        }
    }

    /** A handle on the same barrier whose {@code await()} and {@code awaitAsync()} time out after {@code timeout}. */
    public DistributedBarrier withDefaultTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        }
        return new DistributedBarrier(client, name, parties, action, timeout);
    }

    public String getName() {
        return name;
    }

    public int getParties() {
        return parties;
    }

    /** The number of parties waiting at the barrier now, asked of the coordinator. */
    public int getNumberWaiting() {
        return client.query(name).waiting().size();
    }

    /** Whether the barrier is broken now, asked of the coordinator. */
    public boolean isBroken() {
        return client.query(name).broken();
    }

    /** Breaks the current waiters ({@link BrokenBarrierException}) and makes the barrier fresh and usable. */
    public void reset() {
        client.call(id -> new Message.Reset(id, name));
    }

    /** Breaks the barrier: current and later awaits throw {@link BrokenBarrierException} until {@link #reset()}. */
    public void abort() {
        client.call(id -> new Message.Abort(id, name));
    }

    @Override
    public String toString() {
        return "DistributedBarrier[" + name + ", parties=" + parties + "]";
    }

    /**
     * The blocking await: the async path, plus an inbox through which the barrier action is handed to this
     * thread, plus CyclicBarrier's rules for interrupts (tell the coordinator, then report what it decided).
     */
    private Message.Released awaitBlocking(long timeoutMillis, byte[] contribution) throws InterruptedException,
            BrokenBarrierException, TimeoutException {
        boolean interrupted = Thread.interrupted();
        LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
        AwaitCall call = client.startAwait(name, timeoutMillis, action, contribution, inbox::add);
        call.result.whenComplete((r, e) -> inbox.add(WAKE));
        long giveUpAt = timeoutMillis < 0 ? Long.MAX_VALUE
                : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis + BACKSTOP_GRACE_MILLIS);
        if (interrupted) {
            call.cancel();
            giveUpAt = Math.min(giveUpAt, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(INTERRUPT_GRACE_MILLIS));
        }
        while (!call.result.isDone()) {
            Runnable task;
            try {
                task = giveUpAt == Long.MAX_VALUE ? inbox.take()
                        : inbox.poll(giveUpAt - System.nanoTime(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                if (!interrupted) {
                    interrupted = true;
                    call.cancel();
                    giveUpAt = Math.min(giveUpAt,
                            System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(INTERRUPT_GRACE_MILLIS));
                }
                continue;
            }
            if (task == null) {
                client.forget(call);
                if (interrupted) {
                    throw new InterruptedException("interrupted while waiting at barrier '" + name
                            + "'; the coordinator did not confirm within " + INTERRUPT_GRACE_MILLIS + " ms");
                }
                throw new TimeoutException("barrier '" + name + "': no answer from the coordinator "
                        + client.address() + " within " + (timeoutMillis + BACKSTOP_GRACE_MILLIS) + " ms");
            }
            task.run();
        }
        try {
            Message.Released released = call.result.get();
            if (interrupted) {
                Thread.currentThread().interrupt(); // released before the interrupt counted, as CyclicBarrier
            }
            return released;
        } catch (ExecutionException ee) {
            Throwable c = ee.getCause();
            if (c instanceof AwaitCall.Interrupted && interrupted) {
                throw new InterruptedException(c.getMessage());
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (c instanceof AwaitCall.Interrupted) {
                throw new BarrierBrokenException(name, 0, BreakCause.INTERRUPTED, "", c.getMessage());
            }
            // Every failure made on the client's I/O thread (where the coordinator's answer arrived) is made anew
            // here, so that its stack trace starts at the caller's await, the original as its cause. The barrier
            // action's own exception was thrown in this thread already and is thrown as it is, as CyclicBarrier does.
            if (c == call.actionFailure() && c instanceof RuntimeException r) {
                throw r;
            } else if (c == call.actionFailure() && c instanceof Error err) {
                throw err;
            } else if (c instanceof BarrierBrokenException b) {
                throw b.inCallingThread();
            } else if (c instanceof TimeoutException t) {
                TimeoutException here = new TimeoutException(t.getMessage());
                here.initCause(t);
                throw here;
            } else if (c instanceof IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            throw new LockstepException(c.getMessage(), c);
        }
    }

    private static long toMillisCeil(long nanos) {
        return nanos / 1_000_000 + (nanos % 1_000_000 == 0 ? 0 : 1);
    }
}
