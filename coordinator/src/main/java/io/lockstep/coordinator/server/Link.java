package io.lockstep.coordinator.server;

import io.netty.channel.Channel;

import java.util.concurrent.ThreadLocalRandom;

/**
 * One connection's handle on its session, filled in on the core's executor when the handshake is applied and read
 * there by every later task of the connection (tasks run in order, so no request sees it unset).
 */
final class Link {
    final Channel channel;
    /**
     * Names this connection in the handshake input, so that the node finds it when the input is applied. Random:
     * in a group the input is applied by every replica, and no other node's token may match one of this node's.
     */
    final long token = ThreadLocalRandom.current().nextLong();
    /** The session this connection carries; null before the handshake is applied, or once it moved or ended. */
    ServerSession session;

    Link(Channel channel) {
        this.channel = channel;
    }
}
