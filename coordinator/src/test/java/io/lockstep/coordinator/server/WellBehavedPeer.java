package io.lockstep.coordinator.server;

import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;

import java.net.InetSocketAddress;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A client that keeps passing a one-party barrier, acknowledging and pinging as it should, on its own thread,
 * recording when each round completed — so a test can assert the coordinator kept serving it while something else
 * went on.
 */
final class WellBehavedPeer implements AutoCloseable {

    final CopyOnWriteArrayList<Long> rounds = new CopyOnWriteArrayList<>();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;
    private volatile boolean stop;

    WellBehavedPeer(InetSocketAddress address) {
        thread = new Thread(() -> {
            try (RawPeer p = new RawPeer(address)) {
                p.send(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "well-behaved", 60_000, 0, 0));
                p.read();
                p.send(new Message.Declare(1, "steady", 1));
                p.read();
                long received = 1;
                for (long id = 2; !stop; id++) {
                    p.send(new Message.Ack(received)).send(new Message.Await(id, "steady", -1, false, new byte[0]));
                    Message m = p.read();
                    if (m instanceof Message.Pong) {
                        m = p.read(); // unasked: the coordinator acknowledges our requests ahead of an answer
                    }
                    if (!(m instanceof Message.Released)) {
                        throw new AssertionError("round " + id + " got " + m);
                    }
                    received++;
                    rounds.add(System.nanoTime());
                    if (id % 50 == 0) {
                        p.send(new Message.Ping(received));
                        p.read(); // PONG
                    }
                }
            } catch (Throwable t) {
                if (!stop) {
                    failure.set(t);
                }
            }
        }, "well-behaved-peer");
        thread.setDaemon(true);
        thread.start();
    }

    /** The longest time, in ms, between consecutive rounds from {@code sinceNanos} on. */
    long longestGapMillis(long sinceNanos) {
        long last = sinceNanos;
        long longest = 0;
        for (long t : rounds) {
            if (t >= sinceNanos) {
                longest = Math.max(longest, t - last);
                last = t;
            }
        }
        return Math.max(longest, System.nanoTime() - last) / 1_000_000;
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.join(5_000);
    }
}
