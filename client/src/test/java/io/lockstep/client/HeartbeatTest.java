package io.lockstep.client;

import io.lockstep.coordinator.server.Metrics;
import io.lockstep.protocol.MessageType;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client PINGs only in heartbeats in which the two ends did not both hear from each other, and acknowledges
 * answers with an ACK in the same write as a request, so a busy session costs no packets beyond its own.
 */
class HeartbeatTest {

    @Test
    void aBusyClientSendsNoHeartbeatsAndAnIdleOneDoes() throws Exception {
        try (LiveCoordinator coordinator = new LiveCoordinator();
             LockstepClient client = LockstepClient.builder().address(coordinator.address).clientName("beater")
                     .sessionLease(Duration.ofMillis(600)).connect()) {
            Metrics metrics = coordinator.server.metrics();
            int heartbeatMillis = 150; // a quarter of the lease
            DistributedBarrier solo = client.barrier("solo", 1);

            long busyUntil = System.nanoTime() + Duration.ofMillis(12L * heartbeatMillis).toNanos();
            int awaits = 0;
            while (System.nanoTime() < busyUntil) {
                assertEquals(0, solo.await());
                awaits++;
            }
            long pingsWhileBusy = metrics.framesReceived(MessageType.PING);
            long acks = metrics.framesReceived(MessageType.ACK);
            // Twelve heartbeats passed; a stalled test thread may leave one or two of them quiet.
            assertTrue(pingsWhileBusy <= 2, pingsWhileBusy + " PINGs during 12 busy heartbeats");
            // Every eighth await carries the acknowledgment of the eight answers before it, in the same write.
            assertTrue(awaits > 100, "only " + awaits + " awaits");
            assertTrue(Math.abs(acks - awaits / 8) <= 1, acks + " ACKs ahead of " + awaits + " awaits");
            assertEquals(awaits, metrics.framesReceived(MessageType.AWAIT));

            // Idle: the heartbeat is all that tells the coordinator we live.
            LiveCoordinator.waitFor(Duration.ofMillis(8L * heartbeatMillis),
                    () -> metrics.framesReceived(MessageType.PING) - pingsWhileBusy >= 5);
            long pingsWhileIdle = metrics.framesReceived(MessageType.PING) - pingsWhileBusy;
            assertTrue(pingsWhileIdle >= 5, pingsWhileIdle + " PINGs during 8 idle heartbeats");
            assertEquals(0, solo.await(), "the session is still there after idling");
        }
    }
}
