package io.lockstep.coordinator.server;

import io.lockstep.protocol.Protocol;

/**
 * How long sessions outlive a lost connection, and how often clients must show they are alive.
 *
 * <p>A connection that goes silent (a network cut, where the client may well be alive) leaves its session the whole
 * lease. A connection that the client's side closed (FIN or RST) while the client was still being heard is another
 * matter: a live client reconnects within milliseconds, and a killed process never does, so the session gets only
 * the reconnect grace and the parties waiting for a dead one learn of it within about a second.
 *
 * @param defaultLeaseMillis   granted when a client asks for none
 * @param minLeaseMillis       the least granted, whatever a client asks
 * @param maxLeaseMillis       the most granted, whatever a client asks
 * @param reconnectGraceMillis how long a session whose connection its peer closed has to come back
 */
public record SessionPolicy(int defaultLeaseMillis, int minLeaseMillis, int maxLeaseMillis, int reconnectGraceMillis) {

    /** The reconnect grace unless configured: a live client is back within milliseconds. */
    public static final int DEFAULT_RECONNECT_GRACE_MILLIS = 1_000;
    public static final SessionPolicy DEFAULT = new SessionPolicy(Protocol.DEFAULT_LEASE_MILLIS, 500, 300_000);

    public SessionPolicy {
        if (minLeaseMillis < 100 || minLeaseMillis > defaultLeaseMillis || defaultLeaseMillis > maxLeaseMillis) {
            throw new IllegalArgumentException("session leases must satisfy 100 <= min (" + minLeaseMillis
                    + ") <= default (" + defaultLeaseMillis + ") <= max (" + maxLeaseMillis + ") milliseconds");
        }
        if (reconnectGraceMillis < 0) {
            throw new IllegalArgumentException("the reconnect grace must not be negative, was " + reconnectGraceMillis
                    + " ms");
        }
    }

    /** Leases as given, with the default reconnect grace. */
    public SessionPolicy(int defaultLeaseMillis, int minLeaseMillis, int maxLeaseMillis) {
        this(defaultLeaseMillis, minLeaseMillis, maxLeaseMillis, DEFAULT_RECONNECT_GRACE_MILLIS);
    }

    /**
     * Whether a client whose connection its own side closed at {@code nowMillis} counts as having left it alive,
     * so that it gets the reconnect grace rather than its lease: it must have been heard within two heartbeats
     * (a client sends something every heartbeat). A close that follows a silence (the FIN of a connection the
     * client gave up on during a cut, arriving when the network returns) is the end of a cut: the whole lease.
     */
    boolean closedWhileHeard(long lastHeardMillis, long nowMillis, int leaseMillis) {
        return nowMillis - lastHeardMillis <= 2L * heartbeatFor(leaseMillis);
    }

    /** The lease for a client that asked for {@code requested} milliseconds (0: the default). */
    int grant(int requested) {
        return requested <= 0 ? defaultLeaseMillis : Math.max(minLeaseMillis, Math.min(maxLeaseMillis, requested));
    }

    /**
     * The heartbeat for a lease: a quarter of it, at most 2 s, at least 50 ms. A connection silent for three
     * heartbeats is taken as dead by both ends, well inside the lease, so a client has time to resume.
     */
    int heartbeatFor(int leaseMillis) {
        return Math.max(50, Math.min(2_000, leaseMillis / 4));
    }
}
