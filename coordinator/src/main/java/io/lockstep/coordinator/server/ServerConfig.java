package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.protocol.Protocol;

import java.nio.file.Path;

/**
 * The coordinator server's settings; every default is a named constant, and every limit is checked here, once.
 * Built with {@link #builder()}.
 *
 * @param bindHost        address to listen on ("0.0.0.0" for every interface)
 * @param port            TCP port; 0 picks a free one
 * @param maxFrameBytes   hard maximum of a received frame's length field
 * @param ioThreads       event-loop threads; with 1, accepting, I/O and the barrier core share one thread
 * @param limits          limits enforced by the barrier core
 * @param sessions        session leases and heartbeats
 * @param connections     limits on connections
 * @param handshakeMillis how long a new connection has to complete its handshake (HELLO, and AUTH if required)
 * @param authSecret      the shared secret clients must prove they hold, or null for no authentication
 * @param tls             TLS certificate files, or null for plaintext
 * @param httpPort        port of the HTTP endpoints (health, metrics, barriers); 0 picks a free one; -1 turns them off
 */
public record ServerConfig(String bindHost, int port, int maxFrameBytes, int ioThreads, BarrierCore.Limits limits,
                           SessionPolicy sessions, ConnectionLimits connections, long handshakeMillis,
                           byte[] authSecret, TlsFiles tls, int httpPort) {

    /** {@link #httpPort} value that turns the HTTP endpoints off. */
    public static final int NO_HTTP = -1;

    public static final String DEFAULT_BIND = "0.0.0.0";
    public static final int DEFAULT_IO_THREADS = 1;
    public static final long DEFAULT_HANDSHAKE_MILLIS = 10_000;

    /**
     * Limits on connections.
     *
     * @param maxConnections       most connections at once, in total
     * @param maxPerAddress        most connections at once from one remote address
     * @param maxUnacknowledged    most answers held for one session that its client has not acknowledged
     * @param maxPendingWriteBytes most bytes queued for a connection that does not read them
     */
    public record ConnectionLimits(int maxConnections, int maxPerAddress, int maxUnacknowledged,
                                   long maxPendingWriteBytes) {
        public static final ConnectionLimits DEFAULT = new ConnectionLimits(65_536, 16_384, 100_000, 64L << 20);

        public ConnectionLimits {
            if (maxConnections < 1 || maxPerAddress < 1 || maxUnacknowledged < 1 || maxPendingWriteBytes < 1) {
                throw new IllegalArgumentException("connection limits must be at least 1");
            }
        }
    }

    /** PEM files for TLS: the coordinator's certificate chain and key, and optionally the CA of client certificates. */
    public record TlsFiles(Path certificate, Path privateKey, Path clientCa) {
    }

    public ServerConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, was " + port);
        }
        if (httpPort < NO_HTTP || httpPort > 65535) {
            throw new IllegalArgumentException("http port must be 0..65535, was " + httpPort);
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
        if (authSecret != null && authSecret.length < 16) {
            throw new IllegalArgumentException("the shared secret must be at least 16 bytes, was " + authSecret.length);
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
                ConnectionLimits.DEFAULT, DEFAULT_HANDSHAKE_MILLIS, null, null, NO_HTTP);
    }

    /** Defaults, on a free loopback port: for tests. */
    public static ServerConfig ephemeralLoopback() {
        return new ServerConfig("127.0.0.1", 0, Protocol.DEFAULT_MAX_FRAME_BYTES, DEFAULT_IO_THREADS);
    }

    public ServerConfig withLimits(BarrierCore.Limits v) {
        return new ServerConfig(bindHost, port, maxFrameBytes, ioThreads, v, sessions, connections, handshakeMillis,
                authSecret, tls, httpPort);
    }

    public ServerConfig withSessions(SessionPolicy v) {
        return new ServerConfig(bindHost, port, maxFrameBytes, ioThreads, limits, v, connections, handshakeMillis,
                authSecret, tls, httpPort);
    }

    public ServerConfig withConnections(ConnectionLimits v) {
        return new ServerConfig(bindHost, port, maxFrameBytes, ioThreads, limits, sessions, v, handshakeMillis,
                authSecret, tls, httpPort);
    }

    public ServerConfig withHandshakeMillis(long v) {
        return new ServerConfig(bindHost, port, maxFrameBytes, ioThreads, limits, sessions, connections, v,
                authSecret, tls, httpPort);
    }

    public ServerConfig withAuthSecret(byte[] v) {
        return new ServerConfig(bindHost, port, maxFrameBytes, ioThreads, limits, sessions, connections,
                handshakeMillis, v == null ? null : v.clone(), tls, httpPort);
    }

    public ServerConfig withTls(TlsFiles v) {
        return new ServerConfig(bindHost, port, maxFrameBytes, ioThreads, limits, sessions, connections,
                handshakeMillis, authSecret, v, httpPort);
    }

    /** The same, with the HTTP endpoints on {@code v} (0: a free port; {@link #NO_HTTP}: off). */
    public ServerConfig withHttpPort(int v) {
        return new ServerConfig(bindHost, port, maxFrameBytes, ioThreads, limits, sessions, connections,
                handshakeMillis, authSecret, tls, v);
    }

    @Override
    public String toString() {
        return "ServerConfig[" + bindHost + ":" + port + ", auth " + (authSecret != null) + ", tls " + (tls != null)
                + ", " + limits + ", " + sessions + ", " + connections + "]";
    }
}
