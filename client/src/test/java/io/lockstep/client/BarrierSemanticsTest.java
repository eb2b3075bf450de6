package io.lockstep.client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.lockstep.client.LiveCoordinator.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The behaviours that CyclicBarrier's and Python's Barrier's own test suites check, over real sockets against a
 * real coordinator: once with every party a thread on one shared handle (one connection), once with every
 * party on its own connection.
 */
class BarrierSemanticsTest {

    private static final Duration LIMIT = Duration.ofSeconds(10);

    enum Topology { THREADS_ON_ONE_HANDLE, ONE_CONNECTION_PER_PARTY }

    private final LiveCoordinator coordinator = new LiveCoordinator();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void tearDown() throws InterruptedException {
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS), "party threads did not finish");
        coordinator.close();
    }

    private List<DistributedBarrier> handles(Topology t, String name, int parties, Runnable action) {
        List<DistributedBarrier> hs = new ArrayList<>();
        if (t == Topology.THREADS_ON_ONE_HANDLE) {
            DistributedBarrier shared = coordinator.client("shared").barrier(name, parties, action);
            for (int i = 0; i < parties; i++) {
                hs.add(shared);
            }
        } else {
            for (int i = 0; i < parties; i++) {
                hs.add(coordinator.client("p" + i).barrier(name, parties, action));
            }
        }
        return hs;
    }

    /** Starts an await in its own thread; the future yields the index or fails with what await threw. */
    private Future<Integer> party(DistributedBarrier b) {
        return threads.submit(() -> b.await());
    }

    private Future<Integer> party(DistributedBarrier b, long timeoutMillis) {
        return threads.submit(() -> b.await(timeoutMillis, TimeUnit.MILLISECONDS));
    }

    private static Throwable failureOf(Future<?> f) throws InterruptedException, TimeoutException {
        try {
            f.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected the await to fail, but it passed");
    }

    private static void waitUntilWaiting(DistributedBarrier b, int n) {
        waitFor(LIMIT, () -> b.getNumberWaiting() == n);
    }

    /** Runs one full round with every handle and checks the indices. */
    private void fullRound(List<DistributedBarrier> hs) throws Exception {
        List<Future<Integer>> fs = hs.stream().map(this::party).toList();
        Set<Integer> indices = new HashSet<>();
        for (Future<Integer> f : fs) {
            indices.add(f.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS));
        }
        assertEquals(IntStream.range(0, hs.size()).boxed().collect(Collectors.toSet()), indices);
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void aSinglePartyPassesRepeatedly(Topology t) throws Exception {
        DistributedBarrier b = handles(t, "solo", 1, null).get(0);
        for (int i = 0; i < 20; i++) {
            assertEquals(0, b.await());
        }
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void twoAndFivePartiesPassInLockstepForTenRounds(Topology t) throws Exception {
        for (int parties : new int[]{2, 5}) {
            List<DistributedBarrier> hs = handles(t, "lockstep-" + parties, parties, null);
            int rounds = 10;
            AtomicInteger[] arrived = IntStream.range(0, rounds).mapToObj(i -> new AtomicInteger())
                    .toArray(AtomicInteger[]::new);
            List<List<Integer>> indices = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                indices.add(java.util.Collections.synchronizedList(new ArrayList<>()));
            }
            AtomicReference<String> violation = new AtomicReference<>();
            List<Future<?>> fs = new ArrayList<>();
            for (DistributedBarrier h : hs) {
                fs.add(threads.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        arrived[r].incrementAndGet();
                        indices.get(r).add(h.await());
                        if (arrived[r].get() != parties) {
                            violation.compareAndSet(null, "passed round " + r + " with " + arrived[r].get()
                                    + " of " + parties + " arrived");
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS);
            }
            assertEquals(null, violation.get());
            for (List<Integer> round : indices) {
                assertEquals(IntStream.range(0, parties).boxed().collect(Collectors.toSet()), new HashSet<>(round),
                        "one round's indices are a permutation of 0..parties-1");
                assertEquals(parties, round.size());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void theFirstToArriveGetsPartiesMinusOneAndTheLastGetsZero(Topology t) throws Exception {
        List<DistributedBarrier> hs = handles(t, "order", 3, null);
        Future<Integer> first = party(hs.get(0));
        waitUntilWaiting(hs.get(0), 1);
        Future<Integer> second = party(hs.get(1));
        waitUntilWaiting(hs.get(0), 2);
        assertEquals(0, hs.get(2).await());
        assertEquals(2, first.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS));
        assertEquals(1, second.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS));
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void asyncAwaitsPassTogether(Topology t) throws Exception {
        List<DistributedBarrier> hs = handles(t, "async", 3, null);
        for (int r = 0; r < 3; r++) {
            List<CompletableFuture<Integer>> fs = hs.stream().map(DistributedBarrier::awaitAsync).toList();
            Set<Integer> got = new HashSet<>();
            for (CompletableFuture<Integer> f : fs) {
                got.add(f.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS));
            }
            assertEquals(Set.of(0, 1, 2), got);
        }
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void interruptingOneWaiterGivesItInterruptedExceptionAndBreaksTheOthers(Topology t) throws Exception {
        List<DistributedBarrier> hs = handles(t, "interrupt", 3, null);
        AtomicReference<Thread> victim = new AtomicReference<>();
        Future<Integer> interrupted = threads.submit(() -> {
            victim.set(Thread.currentThread());
            return hs.get(0).await();
        });
        Future<Integer> other = party(hs.get(1));
        waitUntilWaiting(hs.get(0), 2);
        victim.get().interrupt();
        assertInstanceOf(InterruptedException.class, failureOf(interrupted));
        Throwable broken = failureOf(other);
        assertInstanceOf(BrokenBarrierException.class, broken);
        assertTrue(broken.getMessage().contains("was interrupted"), broken.getMessage());
        assertTrue(hs.get(2).isBroken());
        // Reset after an interrupt makes the barrier usable again.
        hs.get(2).reset();
        assertFalse(hs.get(2).isBroken());
        fullRound(hs);
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void aTimedOutWaiterGetsTimeoutExceptionNeverEarlyAndTheOthersAreBroken(Topology t) throws Exception {
        List<DistributedBarrier> hs = handles(t, "timeout", 3, null);
        Future<Integer> patient = party(hs.get(0));
        waitUntilWaiting(hs.get(0), 1);
        long start = System.nanoTime();
        Future<Integer> hasty = party(hs.get(1), 300);
        Throwable timedOut = failureOf(hasty);
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        assertInstanceOf(TimeoutException.class, timedOut);
        assertTrue(elapsedMillis >= 300, "timed out after " + elapsedMillis + " ms, before its 300 ms");
        Throwable broken = failureOf(patient);
        assertInstanceOf(BrokenBarrierException.class, broken);
        assertTrue(broken.getMessage().contains("timed out after 300 ms"), broken.getMessage());
        // Broken until reset; reset after a timeout makes it usable.
        assertThrows(BrokenBarrierException.class, () -> hs.get(2).await());
        hs.get(2).reset();
        fullRound(hs);
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void resetOfAnActiveBarrierBreaksItsWaiters(Topology t) throws Exception {
        List<DistributedBarrier> hs = handles(t, "reset-active", 3, null);
        Future<Integer> a = party(hs.get(0));
        Future<Integer> b = party(hs.get(1));
        waitUntilWaiting(hs.get(2), 2);
        hs.get(2).reset();
        for (Future<Integer> f : List.of(a, b)) {
            Throwable e = failureOf(f);
            assertInstanceOf(BrokenBarrierException.class, e);
            assertTrue(e.getMessage().contains("reset by"), e.getMessage());
        }
        assertFalse(hs.get(0).isBroken(), "usable at once after reset");
        fullRound(hs);
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void resetBeforeAnyoneWaitsBreaksNothing(Topology t) throws Exception {
        List<DistributedBarrier> hs = handles(t, "reset-idle", 2, null);
        hs.get(0).reset();
        assertFalse(hs.get(0).isBroken());
        fullRound(hs);
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void theActionRunsExactlyOncePerTripBeforeAnyoneReturns(Topology t) throws Exception {
        AtomicInteger trips = new AtomicInteger();
        List<DistributedBarrier> hs = handles(t, "action", 3, trips::incrementAndGet);
        for (int r = 1; r <= 5; r++) {
            int round = r;
            List<Future<Integer>> fs = hs.stream().map(h -> threads.submit(() -> {
                int index = h.await();
                assertEquals(round, trips.get(), "the action ran before this party returned");
                return index;
            })).toList();
            for (Future<Integer> f : fs) {
                f.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS);
            }
            assertEquals(r, trips.get());
        }
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void aFailingActionBreaksTheBarrierAndItsRunnerGetsTheException(Topology t) throws Exception {
        AtomicInteger calls = new AtomicInteger();
        List<DistributedBarrier> hs = handles(t, "action-fails", 2, () -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("boom");
            }
        });
        Future<Integer> first = party(hs.get(0));
        waitUntilWaiting(hs.get(0), 1);
        Future<Integer> last = party(hs.get(1));
        Throwable runner = failureOf(last);
        assertInstanceOf(IllegalStateException.class, runner);
        assertEquals("boom", runner.getMessage());
        Throwable other = failureOf(first);
        assertInstanceOf(BrokenBarrierException.class, other);
        assertTrue(other.getMessage().contains("failed: java.lang.IllegalStateException: boom"), other.getMessage());
        hs.get(0).reset();
        fullRound(hs);
        assertEquals(2, calls.get());
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void abortKeepsTheBarrierBrokenUntilReset(Topology t) throws Exception {
        List<DistributedBarrier> hs = handles(t, "abort", 2, null);
        Future<Integer> waiting = party(hs.get(0));
        waitUntilWaiting(hs.get(1), 1);
        hs.get(1).abort();
        Throwable e = failureOf(waiting);
        assertTrue(e.getMessage().contains("aborted by"), e.getMessage());
        for (int i = 0; i < 3; i++) {
            assertThrows(BrokenBarrierException.class, () -> hs.get(0).await());
        }
        assertTrue(hs.get(0).isBroken());
        hs.get(0).reset();
        fullRound(hs);
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void theDefaultTimeoutApplies(Topology t) throws Exception {
        List<DistributedBarrier> hs = handles(t, "default-timeout", 2, null);
        DistributedBarrier timed = hs.get(0).withDefaultTimeout(Duration.ofMillis(200));
        BrokenBarrierException e = assertThrows(BrokenBarrierException.class, timed::await);
        assertInstanceOf(TimeoutException.class, e.getCause());
        assertTrue(e.getMessage().contains("timed out after 200 ms"), e.getMessage());
        ExecutionException async = assertThrows(ExecutionException.class,
                () -> timed.awaitAsync().get(LIMIT.toMillis(), TimeUnit.MILLISECONDS));
        assertInstanceOf(BrokenBarrierException.class, async.getCause(), "still broken from the timeout");
    }

    @Test
    void aBrokenBarrierSaysWhyAndWhoHadArrived() throws Exception {
        DistributedBarrier susan = coordinator.client("susan").barrier("game", 4);
        DistributedBarrier pratik = coordinator.client("pratik").barrier("game", 4);
        coordinator.client("suman").barrier("game", 4);
        DistributedBarrier nijam = coordinator.client("nijam").barrier("game", 4);
        Future<Integer> s = party(susan);
        waitUntilWaiting(susan, 1);
        Future<Integer> p = party(pratik);
        waitUntilWaiting(susan, 2);
        assertThrows(TimeoutException.class, () -> nijam.await(200, TimeUnit.MILLISECONDS));
        String expected = "barrier 'game' generation 1 broken: party 'nijam' timed out after 200 ms; "
                + "3 of 4 arrived: susan, pratik, nijam; not arrived: suman";
        assertEquals(expected, failureOf(s).getMessage());
        BarrierBrokenException e = (BarrierBrokenException) failureOf(p);
        assertEquals(expected, e.getMessage());
        assertEquals("nijam", e.culprit());
        assertEquals(1, e.generation());
    }

    @Test
    void aBlockingAwaitThrowsFromTheCallersFrameWithTheIoThreadsExceptionAsItsCause() throws Exception {
        DistributedBarrier waiter = coordinator.client("waiter").barrier("trace", 3);
        DistributedBarrier late = coordinator.client("late").barrier("trace", 3);
        Future<Integer> w = threads.submit(() -> awaitFromHere(waiter));
        waitUntilWaiting(waiter, 1);
        TimeoutException timedOut = assertThrows(TimeoutException.class, () -> late.await(50, TimeUnit.MILLISECONDS));
        assertTrue(calledFrom(timedOut, "lambda$aBlockingAwaitThrowsFromTheCallersFrame"), trace(timedOut));
        assertInstanceOf(TimeoutException.class, timedOut.getCause());
        assertFalse(calledFrom(timedOut.getCause(), "lambda$aBlockingAwaitThrowsFromTheCallersFrame"),
                "the cause is the I/O thread's own");

        BarrierBrokenException broken = (BarrierBrokenException) failureOf(w);
        assertTrue(calledFrom(broken, "awaitFromHere"), trace(broken));
        assertEquals("late", broken.culprit());
        assertEquals(1, broken.generation());
        assertEquals(io.lockstep.protocol.BreakCause.TIMEOUT, broken.breakCause());
        assertInstanceOf(BarrierBrokenException.class, broken.getCause());
        assertEquals(broken.getMessage(), broken.getCause().getMessage());
        assertFalse(calledFrom(broken.getCause(), "awaitFromHere"), trace(broken.getCause()));
    }

    private static int awaitFromHere(DistributedBarrier b) throws Exception {
        return b.await();
    }

    private static boolean calledFrom(Throwable t, String method) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().equals(BarrierSemanticsTest.class.getName()) && e.getMethodName().startsWith(method)) {
                return true;
            }
        }
        return false;
    }

    private static String trace(Throwable t) {
        java.io.StringWriter w = new java.io.StringWriter();
        t.printStackTrace(new java.io.PrintWriter(w));
        return w.toString();
    }

    @Test
    void aDeclarationThatDisagreesOrIsMalformedThrowsIllegalArgumentException() {
        LockstepClient a = coordinator.client("a");
        a.barrier("m", 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> coordinator.client("b").barrier("m", 2));
        assertTrue(e.getMessage().contains("3") && e.getMessage().contains("2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> a.barrier("", 2));
        assertThrows(IllegalArgumentException.class, () -> a.barrier("x".repeat(257), 2));
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> a.barrier("z", 0));
        assertTrue(zero.getMessage().contains("0"), zero.getMessage());
    }

    @Test
    void closingAClientFailsItsAwaitsAtOnceAndBreaksTheBarrierNamingIt() throws Exception {
        DistributedBarrier stays = coordinator.client("stays").barrier("close", 3);
        LockstepClient leaver = coordinator.client("leaver");
        DistributedBarrier leaves = leaver.barrier("close", 3);
        Future<Integer> waiting = party(stays);
        Future<Integer> pending = party(leaves);
        waitUntilWaiting(stays, 2);
        leaver.close();
        Throwable own = failureOf(pending);
        assertInstanceOf(BrokenBarrierException.class, own);
        assertTrue(own.getMessage().contains("was closed"), own.getMessage());
        Throwable other = failureOf(waiting);
        assertInstanceOf(BrokenBarrierException.class, other);
        assertTrue(other.getMessage().contains("party 'leaver' was lost"), other.getMessage());
    }

    @Test
    void stoppingTheCoordinatorBreaksEveryWaiterWithTheReason() throws Exception {
        DistributedBarrier b = coordinator.client("waiter").barrier("stop", 2);
        Future<Integer> waiting = party(b);
        waitUntilWaiting(b, 1);
        coordinator.server.stop("coordinator shutting down");
        Throwable e = failureOf(waiting);
        assertInstanceOf(BrokenBarrierException.class, e);
        assertTrue(e.getMessage().contains("coordinator shutting down"), e.getMessage());
    }

    @Test
    void connectingToTheHttpPortSaysItIsTheHttpPort() throws Exception {
        try (LiveCoordinator web = new LiveCoordinator(io.lockstep.coordinator.server.ServerConfig.ephemeralLoopback()
                .withHttpPort(0))) {
            int httpPort = web.server.httpAddress().getPort();
            IOException e = assertThrows(IOException.class, () -> LockstepClient.builder()
                    .address("127.0.0.1", httpPort).connectTimeout(Duration.ofSeconds(5)).connect());
            assertEquals("cannot connect to coordinator at 127.0.0.1:" + httpPort + ": it answered in HTTP: that is "
                    + "a web server, perhaps the coordinator's HTTP port (/health, /metrics); its barrier protocol "
                    + "listens on another port, 7777 by default", e.getMessage());
        }
    }

    @Test
    void aClientGivenSeveralAddressesTriesEachAndSaysWhyForEveryOne() throws Exception {
        int port = coordinator.server.address().getPort();
        try (LockstepClient c = LockstepClient.builder().address("127.0.0.1:1,127.0.0.1:" + port).clientName("list")
                .connectTimeout(Duration.ofSeconds(5)).connect()) {
            assertEquals(0, c.barrier("list", 1).await(), "the first node refused; the second serves");
        }
        IOException e = assertThrows(IOException.class, () -> LockstepClient.builder().address("127.0.0.1:1,127.0.0.1:2")
                .connectTimeout(Duration.ofSeconds(2)).connect());
        assertEquals("cannot connect to any coordinator of 127.0.0.1:1,127.0.0.1:2: cannot connect to coordinator at "
                + "127.0.0.1:1: connection refused; cannot connect to coordinator at 127.0.0.1:2: connection refused",
                e.getMessage());
    }

    @Test
    void aClientForgetsABarrierAndTheCoordinatorWithItOnceNobodyDeclaresIt() throws Exception {
        LockstepClient c = coordinator.client("forgetful");
        DistributedBarrier b = c.barrier("used-once", 1);
        assertEquals(0, b.await());
        c.forget("used-once");
        assertTrue(c.barriers().stream().noneMatch(s -> s.name().equals("used-once")), "forgotten: " + c.barriers());
        assertThrows(LockstepException.class, () -> c.forget("used-once"), "it was forgotten already");
        DistributedBarrier again = c.barrier("used-once", 1);
        assertEquals(0, again.await(), "and can be declared again");
    }

    @Test
    void connectingToNothingFailsWithAClearIOException() {
        IOException e = assertThrows(IOException.class, () -> LockstepClient.builder().address("127.0.0.1:1")
                .connectTimeout(Duration.ofSeconds(2)).connect());
        assertEquals("cannot connect to coordinator at 127.0.0.1:1: connection refused", e.getMessage());
    }
}
