package io.lockstep.coordinator.server;

import io.lockstep.protocol.Protocol;

/**
 * How long sessions outlive a cut connection, and how often clients must show they are alive.
 *
 * @param defaultLeaseMillis granted when a client asks for none
 * @param minLeaseMillis     the least granted, whatever a client asks
 * @param maxLeaseMillis     the most granted, whatever a client asks
 */
public record SessionPolicy(int defaultLeaseMillis, int minLeaseMillis, int maxLeaseMillis) {

    public static final SessionPolicy DEFAULT = new SessionPolicy(Protocol.DEFAULT_LEASE_MILLIS, 500, 300_000);

    public SessionPolicy {
        if (minLeaseMillis < 100 || minLeaseMillis > defaultLeaseMillis || defaultLeaseMillis > maxLeaseMillis) {
            throw new IllegalArgumentException("session leases must satisfy 100 <= min (" + minLeaseMillis
                    + ") <= default (" + defaultLeaseMillis + ") <= max (" + maxLeaseMillis + ") milliseconds");
        }
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
