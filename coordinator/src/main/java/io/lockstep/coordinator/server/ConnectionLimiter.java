package io.lockstep.coordinator.server;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts open connections, in total and per remote address, against their limits. Thread-safe. */
final class ConnectionLimiter {

    private final ServerConfig.ConnectionLimits limits;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> byAddress = new ConcurrentHashMap<>();

    ConnectionLimiter(ServerConfig.ConnectionLimits limits) {
        this.limits = limits;
    }

    /** Null when the connection is admitted (release it later), else why not. */
    String tryAcquire(InetAddress address) {
        if (total.incrementAndGet() > limits.maxConnections()) {
            total.decrementAndGet();
            return "the coordinator holds " + limits.maxConnections() + " connections, its limit";
        }
        AtomicInteger mine = byAddress.computeIfAbsent(address, a -> new AtomicInteger());
        if (mine.incrementAndGet() > limits.maxPerAddress()) {
            mine.decrementAndGet();
            total.decrementAndGet();
            return "there are " + limits.maxPerAddress() + " connections from " + address.getHostAddress()
                    + ", the limit per address";
        }
        return null;
    }

    void release(InetAddress address) {
        total.decrementAndGet();
        byAddress.computeIfPresent(address, (a, n) -> n.decrementAndGet() == 0 ? null : n);
    }

    int open() {
        return total.get();
    }
}
