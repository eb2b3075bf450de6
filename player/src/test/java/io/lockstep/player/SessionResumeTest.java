package io.lockstep.player;

import io.lockstep.client.DistributedBarrier;
import io.lockstep.client.LockstepClient;
import io.lockstep.client.SessionLostException;
import io.lockstep.coordinator.server.CoordinatorServer;
import io.lockstep.coordinator.server.ServerConfig;
import io.lockstep.coordinator.server.SessionPolicy;
import io.lockstep.protocol.MessageType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static io.lockstep.player.Waiting.holdFor;
import static io.lockstep.player.Waiting.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Sessions across connection failures, in one JVM: a party's connection runs through a {@link ChaosProxy} that
 * resets it, holds it silent, or loses the coordinator behind it. (The same failures between hosts, with real
 * packet loss and link cuts, are in {@code FailureClusterIT}.)
 */
class SessionResumeTest {

    private static final SessionPolicy SHORT_LEASES = new SessionPolicy(2_000, 200, 60_000);

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private CoordinatorServer coordinator;
    private int port;

    @AfterEach
    void tearDown() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        if (coordinator != null) {
            coordinator.stop("test finished");
        }
    }

    private void startCoordinator() throws Exception {
        coordinator = new CoordinatorServer(new ServerConfig("127.0.0.1", port, 1 << 20, 1).withSessions(SHORT_LEASES));
        port = coordinator.start().getPort();
    }

    private ChaosProxy proxy() throws IOException {
        ChaosProxy p = new ChaosProxy(InetAddress.getLoopbackAddress(), new InetSocketAddress("127.0.0.1", port));
        toClose.add(p);
        return p;
    }

    private LockstepClient client(String name, int viaPort, Duration lease) throws IOException {
        LockstepClient c = LockstepClient.builder().address("127.0.0.1", viaPort).clientName(name)
                .sessionLease(lease).connectTimeout(Duration.ofSeconds(2)).connect();
        toClose.add(c);
        return c;
    }



    private static Throwable failureOf(CompletableFuture<?> f, Duration within) throws Exception {
        try {
            f.get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected a failure, but it passed");
    }

    @Test
    void aCutShorterThanDeadDetectionStallsButLosesNothing() throws Exception {
        startCoordinator();
        ChaosProxy net = proxy();
        DistributedBarrier viaProxy = client("far", net.port(), Duration.ofSeconds(4)).barrier("stall", 2);
        DistributedBarrier direct = client("near", port, Duration.ofSeconds(4)).barrier("stall", 2);
        CompletableFuture<Integer> far = viaProxy.awaitAsync();
        waitFor(Duration.ofSeconds(5), () -> direct.getNumberWaiting() == 1);
        net.cut();
        int nearIndex = direct.await(); // releases both; far's RELEASED is held in the cut
        holdFor(Duration.ofMillis(800));
        assertTrue(!far.isDone(), "nothing crosses the cut");
        net.restore();
        assertEquals(1 - nearIndex, far.get(5, TimeUnit.SECONDS));
    }

    @Test
    void connectionsResetInTheMiddleOfRoundsAreResumedAndEveryPartyPassesEachRoundExactlyOnce() throws Exception {
        startCoordinator();
        ChaosProxy net = proxy();
        LockstepClient farClient = client("far", net.port(), Duration.ofSeconds(5));
        long session = farClient.sessionId();
        DistributedBarrier far = farClient.barrier("rounds", 3);
        DistributedBarrier near = client("near", port, Duration.ofSeconds(5)).barrier("rounds", 3);
        DistributedBarrier third = client("third", port, Duration.ofSeconds(5)).barrier("rounds", 3);
        Random rnd = new Random(5);
        int rounds = 40;
        for (int r = 0; r < rounds; r++) {
            List<CompletableFuture<Integer>> fs = List.of(far.awaitAsync(), near.awaitAsync());
            if (rnd.nextInt(3) == 0) {
                net.sever(); // with RST, before, during or after its await reached the coordinator: the reconnect
                             // grace (1 s) applies, and the client is back well within it
            }
            Set<Integer> indices = new HashSet<>();
            indices.add(third.await(10, TimeUnit.SECONDS));
            for (CompletableFuture<Integer> f : fs) {
                indices.add(f.get(10, TimeUnit.SECONDS));
            }
            assertEquals(Set.of(0, 1, 2), indices, "round " + r);
        }
        assertEquals(session, farClient.sessionId(), "every reset connection resumed the same session");
        assertEquals(0, far.getNumberWaiting(), "no await was counted twice or left behind");
    }

    @Test
    void aCutLongerThanTheLeaseBreaksTheBarrierNamingThePartyAndThePartyLearnsWhenItReturns() throws Exception {
        startCoordinator();
        ChaosProxy net = proxy();
        // Three parties: far and near wait for a third; far is cut off while it waits and stays away.
        LockstepClient farClient = client("far", net.port(), Duration.ofMillis(1_000));
        DistributedBarrier far = farClient.barrier("lease", 3);
        long firstSession = farClient.sessionId();
        DistributedBarrier near = client("near", port, Duration.ofSeconds(10)).barrier("lease", 3);
        DistributedBarrier third = client("third", port, Duration.ofSeconds(10)).barrier("lease", 3);
        CompletableFuture<Integer> farWait = far.awaitAsync();
        CompletableFuture<Integer> nearWait = near.awaitAsync();
        waitFor(Duration.ofSeconds(5), () -> near.getNumberWaiting() == 2);
        long cutAt = System.nanoTime();
        net.cut();
        Throwable broken = failureOf(nearWait, Duration.ofSeconds(10));
        long tookMillis = (System.nanoTime() - cutAt) / 1_000_000;
        assertInstanceOf(BrokenBarrierException.class, broken);
        assertTrue(broken.getMessage().contains("party 'far' was lost: silent for"), broken.getMessage());
        assertTrue(tookMillis < 1_000 + 2_000, "broken within lease + 2 s, took " + tookMillis + " ms");
        net.restore();
        Throwable lost = failureOf(farWait, Duration.ofSeconds(10));
        assertInstanceOf(SessionLostException.class, lost);
        assertTrue(lost.getMessage().contains("session") && lost.getMessage().contains("lost"), lost.getMessage());
        // The far client comes back in a new session (its lost await may have failed before it reconnected, while
        // the coordinator was still unreachable: requests fail at once then) and can take part again after a reset.
        waitFor(Duration.ofSeconds(10), () -> farClient.sessionId() != firstSession);
        assertEquals(3, farClient.status("lease").parties(), "the far client is served in its new session");
        near.reset();
        CompletableFuture<Integer> farAgain = far.awaitAsync();
        CompletableFuture<Integer> nearAgain = near.awaitAsync();
        Set<Integer> indices = new HashSet<>(Set.of(third.await(10, TimeUnit.SECONDS)));
        indices.add(farAgain.get(10, TimeUnit.SECONDS));
        indices.add(nearAgain.get(10, TimeUnit.SECONDS));
        assertEquals(Set.of(0, 1, 2), indices);
    }

    @Test
    void aClientThatLostItsSessionKeepsAcknowledgingInTheNewOne() throws Exception {
        startCoordinator();
        ChaosProxy net = proxy();
        LockstepClient farClient = client("far", net.port(), Duration.ofMillis(1_000));
        DistributedBarrier solo = farClient.barrier("solo", 1);
        for (int i = 0; i < 100; i++) {
            solo.await(); // 100 answers acknowledged in the first session
        }
        long first = farClient.sessionId();
        net.cut();
        waitFor(Duration.ofSeconds(10), () -> coordinator.sessions() == 0); // its lease ran out: the session is gone
        net.restore();
        waitFor(Duration.ofSeconds(10), () -> farClient.sessionId() != first);
        long acksBefore = coordinator.metrics().framesReceived(MessageType.ACK);
        for (int i = 0; i < 80; i++) {
            solo.await();
        }
        // Counting starts again in the new session: every eighth await carries an ACK, as before the loss.
        long acks = coordinator.metrics().framesReceived(MessageType.ACK) - acksBefore;
        assertTrue(acks >= 80 / 8 - 1, acks + " ACKs in 80 awaits of the new session");
    }

    @Test
    void aPartyLostBeforeItArrivesBreaksTheBarrierForThoseWaitingNamingIt() throws Exception {
        startCoordinator();
        ChaosProxy net = proxy();
        client("far", net.port(), Duration.ofMillis(1_000)).barrier("early", 2); // declared, still "playing"
        DistributedBarrier near = client("near", port, Duration.ofSeconds(10)).barrier("early", 2);
        CompletableFuture<Integer> waiting = near.awaitAsync();
        waitFor(Duration.ofSeconds(5), () -> near.getNumberWaiting() == 1);
        net.cut(); // far's host goes away before it reaches the barrier
        Throwable e = failureOf(waiting, Duration.ofSeconds(1 + 2));
        assertInstanceOf(BrokenBarrierException.class, e);
        assertTrue(e.getMessage().contains("party 'far' was lost: silent for") && e.getMessage().contains(
                "before it arrived; 1 of 2 arrived: near"), e.getMessage());
        net.restore();
    }

    @Test
    void aCoordinatorThatDiesIsNeverAHangAndOnceBackTheErrorSaysItsStateWasLost() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        startCoordinator();
        ChaosProxy net = proxy();
        LockstepClient farClient = client("far", net.port(), Duration.ofMillis(1_000));
        long firstSession = farClient.sessionId();
        DistributedBarrier far = farClient.barrier("restart", 2);
        CompletableFuture<Integer> waiting = far.awaitAsync();
        waitFor(Duration.ofSeconds(5), () -> coordinatorWaiting("restart") == 1);
        // The coordinator vanishes without a word (as with kill -9): connections reset, the port refuses.
        net.retarget(new InetSocketAddress("127.0.0.1", 1));
        net.sever();
        coordinator.stop("killed");
        Throwable e = failureOf(waiting, Duration.ofSeconds(1 + 2));
        assertInstanceOf(SessionLostException.class, e);
        assertTrue(e.getMessage().contains("unreachable") && e.getMessage().contains("lease"), e.getMessage());
        // It comes back, empty. The client finds it by itself and can use the barrier again.
        startCoordinator();
        net.retarget(new InetSocketAddress("127.0.0.1", port));
        waitFor(Duration.ofSeconds(10), () -> farClient.sessionId() != firstSession);
        DistributedBarrier near = client("near", port, Duration.ofSeconds(5)).barrier("restart", 2);
        CompletableFuture<Integer> farAgain = far.awaitAsync(); // its barrier was declared again by itself
        assertEquals(Set.of(0, 1), Set.of(near.await(10, TimeUnit.SECONDS), farAgain.get(10, TimeUnit.SECONDS)));
    }

    private int coordinatorWaiting(String barrier) {
        try {
            return coordinator.barriers().stream().filter(v -> v.name().equals(barrier))
                    .mapToInt(v -> v.waiting().size()).sum();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void closingClientsFailsTheirAwaitsAtOnceAndLeavesNoThreads() throws Exception {
        startCoordinator();
        List<CompletableFuture<Integer>> pending = new ArrayList<>();
        List<LockstepClient> clients = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            LockstepClient c = LockstepClient.builder().address("127.0.0.1", port).clientName("c" + i).connect();
            clients.add(c);
            pending.add(c.barrier("closing", 5).awaitAsync());
        }
        waitFor(Duration.ofSeconds(5), () -> coordinatorWaiting("closing") == 3);
        clients.forEach(LockstepClient::close);
        for (CompletableFuture<Integer> f : pending) {
            assertTrue(f.isDone(), "close() fails pending awaits before it returns");
            assertInstanceOf(BrokenBarrierException.class, failureOf(f, Duration.ofSeconds(1)));
        }
        waitFor(Duration.ofSeconds(5), () -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().startsWith("lockstep-client")));
    }
}
