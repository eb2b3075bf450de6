package io.lockstep.coordinator.server;

import io.lockstep.protocol.Message;
import io.netty.channel.Channel;

import java.util.ArrayDeque;

/**
 * The transport side of one session: the connection it is on (none while cut), the answers it was sent that
 * its client has not yet acknowledged, and the counts both ends use to resume without losing or repeating a
 * frame. Confined to the core's executor.
 */
final class ServerSession {

    /**
     * The coordinator tells the client how many of its requests it has received (PONG) at least this often,
     * unasked, so that a busy client, which rarely needs to PING, can drop the requests it holds for resuming.
     */
    static final int ACKNOWLEDGE_EVERY = 32;

    final long id;
    final String clientName;
    final int leaseMillis;
    /** The connection carrying the session now; null while it is cut and the lease runs. */
    Channel channel;
    /** Counted frames sent and not yet acknowledged, oldest first. */
    final ArrayDeque<Message> outbox = new ArrayDeque<>();
    /** Counted frames produced for this session so far (the index of the next one). */
    long produced;
    /** Counted frames received from the client so far. */
    long received;
    /** The count of received frames last told to the client (in PONG or WELCOME). */
    long toldReceived;
    /** When the client was last heard from (core clock, milliseconds). */
    long lastHeard;
    /** True while the session is in the driver's list of connections to flush after the current command. */
    boolean flushPending;

    ServerSession(long id, String clientName, int leaseMillis, long now) {
        this.id = id;
        this.clientName = clientName;
        this.leaseMillis = leaseMillis;
        this.lastHeard = now;
    }

    /** Queues a counted frame and writes it if connected; returns true when written. */
    boolean send(Message m) {
        outbox.add(m);
        produced++;
        if (channel != null) {
            channel.write(m, channel.voidPromise());
            return true;
        }
        return false;
    }

    /** Drops the frames the client says it has received. */
    void acknowledge(long clientReceived) {
        while (!outbox.isEmpty() && produced - outbox.size() < clientReceived) {
            outbox.poll();
        }
    }

    /** The index of the oldest frame still held. */
    long oldestHeld() {
        return produced - outbox.size();
    }
}
