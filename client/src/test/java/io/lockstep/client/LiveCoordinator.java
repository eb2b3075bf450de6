package io.lockstep.client;

import io.lockstep.coordinator.server.CoordinatorServer;
import io.lockstep.coordinator.server.ServerConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** A real coordinator on a free loopback port, and the clients a test opened against it. */
final class LiveCoordinator implements AutoCloseable {

    final CoordinatorServer server;
    final String address;
    private final List<LockstepClient> clients = new ArrayList<>();

    LiveCoordinator() {
        this(ServerConfig.ephemeralLoopback());
    }

    LiveCoordinator(ServerConfig config) {
        server = new CoordinatorServer(config);
        try {
            address = "127.0.0.1:" + server.start().getPort();
        } catch (InterruptedException | javax.net.ssl.SSLException e) {
            throw new IllegalStateException(e);
        }
    }

    LockstepClient client(String name) {
        try {
            LockstepClient c = LockstepClient.builder().address(address).clientName(name).connect();
            clients.add(c);
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Closes every client, checking first that none has a request left outstanding. */
    @Override
    public void close() {
        try {
            for (LockstepClient c : clients) {
                waitFor(Duration.ofSeconds(5), () -> c.outstandingRequests() == 0);
                assertEquals(0, c.outstandingRequests(), c + " has requests left outstanding");
            }
        } finally {
            clients.forEach(LockstepClient::close);
            server.stop("test finished");
        }
    }

    /** Waits for a condition with a deadline; fails the test if it never holds. */
    static void waitFor(Duration limit, BooleanSupplier condition) {
        waitFor(limit, condition, () -> "condition did not hold within " + limit);
    }

    /** As {@link #waitFor(Duration, BooleanSupplier)}, failing with {@code why} (read only then). */
    static void waitFor(Duration limit, BooleanSupplier condition, java.util.function.Supplier<String> why) {
        long end = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail(why.get());
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }
}
