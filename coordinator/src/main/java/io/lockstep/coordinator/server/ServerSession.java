package io.lockstep.coordinator.server;

import io.netty.channel.Channel;

/**
 * One session as this node serves it: the connection it is on, when its client was last heard, and the counts this
 * node tells the client or stamps its requests with. What replicas must agree on (the counted frames, the answers
 * held for a resume) is in {@link io.lockstep.coordinator.core.CoordinatorState}. Confined to the core's executor.
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
    /** The connection carrying the session. */
    final Link link;
    /** The index the next request of this connection gets (the state applies each index once). */
    long nextRequest;
    /** The count of received requests last told to the client (in PONG or WELCOME). */
    long toldReceived;
    /** The most answers the client has said it received on this connection (ACK, PING). */
    long acknowledged;
    /** When the client was last heard from (core clock, milliseconds). */
    long lastHeard;
    /** True while the session is in the driver's list of connections to flush after the current input. */
    boolean flushPending;

    ServerSession(long id, String clientName, int leaseMillis, Link link, long received, long now) {
        this.id = id;
        this.clientName = clientName;
        this.leaseMillis = leaseMillis;
        this.link = link;
        this.nextRequest = received;
        this.toldReceived = received;
        this.lastHeard = now;
    }

    Channel channel() {
        return link.channel;
    }
}
