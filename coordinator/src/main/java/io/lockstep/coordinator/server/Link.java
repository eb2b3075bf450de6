package io.lockstep.coordinator.server;

import io.netty.channel.Channel;

/**
 * One connection's handle on its session, filled in on the core's executor when the handshake is processed and
 * read there by every later task of the connection (tasks run in order, so no request sees it unset).
 */
final class Link {
    final Channel channel;
    /** The session this connection carries; null before the handshake is processed or after it was refused. */
    ServerSession session;

    Link(Channel channel) {
        this.channel = channel;
    }
}
