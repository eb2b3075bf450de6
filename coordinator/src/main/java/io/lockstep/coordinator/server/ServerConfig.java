package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.protocol.Protocol;

/**
 * The coordinator server's settings. Limits are checked here, once.
 *
 * @param bindHost      address to listen on ("0.0.0.0" for every interface)
 * @param port          TCP port; 0 picks a free one
 * @param maxFrameBytes hard maximum of a frame's length field, both directions
 * @param ioThreads     event-loop threads; with 1, accepting, I/O and the barrier core share one thread
 * @param limits        limits on exchanged contributions
 * @param sessions      session leases and heartbeats
 * @param handshakeMillis how long a new connection has to send its HELLO
 */
public record ServerConfig(String bindHost, int port, int maxFrameBytes, int ioThreads, BarrierCore.Limits limits,
                           SessionPolicy sessions, long handshakeMillis) {

    public static final long DEFAULT_HANDSHAKE_MILLIS = 10_000;

    public static final String DEFAULT_BIND = "0.0.0.0";
    public static final int DEFAULT_IO_THREADS = 1;

    public ServerConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, was " + port);
        }
        if (maxFrameBytes < Protocol.MIN_MAX_FRAME_BYTES) {
            throw new IllegalArgumentException(
                    "max frame bytes must be at least " + Protocol.MIN_MAX_FRAME_BYTES + ", was " + maxFrameBytes);
        }
        if (handshakeMillis < 1) {
            throw new IllegalArgumentException("handshake deadline must be positive, was " + handshakeMillis);
        }
        if (ioThreads < 1) {
            throw new IllegalArgumentException("io threads must be at least 1, was " + ioThreads);
        }
        int fits = Protocol.DEFAULT_MAX_FRAME_BYTES - Protocol.CONTRIBUTION_HEADROOM_BYTES;
        if (limits.maxContributionBytes() > fits) {
            throw new IllegalArgumentException("max contribution bytes must be at most " + fits
                    + " (a release frame holds at least one whole contribution), was " + limits.maxContributionBytes());
        }
        if (limits.maxContributionBytes() + Protocol.CONTRIBUTION_HEADROOM_BYTES > maxFrameBytes) {
            throw new IllegalArgumentException("max frame bytes " + maxFrameBytes + " is too small for contributions of "
                    + limits.maxContributionBytes() + " bytes");
        }
    }

    public ServerConfig(String bindHost, int port, int maxFrameBytes, int ioThreads) {
        this(bindHost, port, maxFrameBytes, ioThreads, BarrierCore.Limits.DEFAULT, SessionPolicy.DEFAULT,
                DEFAULT_HANDSHAKE_MILLIS);
    }

    /** The same, with other exchange limits. */
    public ServerConfig withLimits(BarrierCore.Limits newLimits) {
        return new ServerConfig(bindHost, port, maxFrameBytes, ioThreads, newLimits, sessions, handshakeMillis);
    }

    /** The same, with another session policy. */
    public ServerConfig withSessions(SessionPolicy policy) {
        return new ServerConfig(bindHost, port, maxFrameBytes, ioThreads, limits, policy, handshakeMillis);
    }

    /** Defaults, on the given port. */
    public static ServerConfig onPort(int port) {
        return new ServerConfig(DEFAULT_BIND, port, Protocol.DEFAULT_MAX_FRAME_BYTES, DEFAULT_IO_THREADS);
    }

    /** Defaults, on a free loopback port: for tests. */
    public static ServerConfig ephemeralLoopback() {
        return new ServerConfig("127.0.0.1", 0, Protocol.DEFAULT_MAX_FRAME_BYTES, DEFAULT_IO_THREADS);
    }
}
