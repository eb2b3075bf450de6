package io.lockstep.client;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.coordinator.server.ServerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static io.lockstep.client.LiveCoordinator.waitFor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Exchanging data at the barrier: every party receives every contribution, all or nothing. */
class ExchangeTest {

    private static final long LIMIT_MS = 20_000;

    enum Topology { THREADS_ON_ONE_HANDLE, ONE_CONNECTION_PER_PARTY }

    private LiveCoordinator coordinator = new LiveCoordinator();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void tearDown() throws InterruptedException {
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS));
        coordinator.close();
    }

    private List<DistributedBarrier> handles(Topology t, String name, int parties) {
        List<DistributedBarrier> hs = new ArrayList<>();
        DistributedBarrier shared = t == Topology.THREADS_ON_ONE_HANDLE
                ? coordinator.client("shared").barrier(name, parties) : null;
        for (int i = 0; i < parties; i++) {
            hs.add(shared != null ? shared : coordinator.client("p" + i).barrier(name, parties));
        }
        return hs;
    }

    private static byte[] randomBytes(Random rnd, int max) {
        byte[] b = new byte[rnd.nextInt(max + 1)];
        rnd.nextBytes(b);
        return b;
    }

    /** Runs one exchange round; returns what each party received, in party order. */
    private List<Exchange> round(List<DistributedBarrier> hs, List<byte[]> contributions) throws Exception {
        List<Future<Exchange>> fs = new ArrayList<>();
        for (int i = 0; i < hs.size(); i++) {
            DistributedBarrier h = hs.get(i);
            byte[] c = contributions.get(i);
            fs.add(threads.submit(() -> h.exchange(c)));
        }
        List<Exchange> got = new ArrayList<>();
        for (Future<Exchange> f : fs) {
            got.add(f.get(LIMIT_MS, TimeUnit.MILLISECONDS));
        }
        return got;
    }

    private static void assertEveryoneGotEverything(List<Exchange> got, List<byte[]> sent) {
        List<Exchange.Contribution> first = got.get(0).contributions();
        assertEquals(sent.size(), first.size());
        Set<String> names = new HashSet<>();
        for (Exchange.Contribution c : first) {
            assertTrue(names.add(c.party()), "party names are unique: " + first);
        }
        for (int i = 0; i < got.size(); i++) {
            Exchange e = got.get(i);
            assertEquals(first, e.contributions(), "every party received the same set, in the same order");
            assertArrayEquals(sent.get(i), e.contributions().get(e.arrivalOrder()).data(),
                    "a party's own contribution sits at its arrival order");
            assertEquals(e.party(), e.contributions().get(e.arrivalOrder()).party());
        }
        // Every contribution sent arrived byte-for-byte.
        List<byte[]> received = first.stream().map(Exchange.Contribution::data).toList();
        for (byte[] s : sent) {
            assertTrue(received.stream().anyMatch(r -> Arrays.equals(r, s)), "a contribution went missing");
        }
        Set<Integer> indices = new HashSet<>();
        got.forEach(e -> indices.add(e.index()));
        assertEquals(sent.size(), indices.size());
    }

    @ParameterizedTest
    @EnumSource(Topology.class)
    void everyPartyReceivesEveryContributionByteForByte(Topology t) throws Exception {
        List<DistributedBarrier> hs = handles(t, "exchange", 4);
        Random rnd = new Random(42);
        for (int r = 0; r < 5; r++) {
            List<byte[]> sent = new ArrayList<>();
            for (int i = 0; i < hs.size(); i++) {
                sent.add(randomBytes(rnd, r == 4 ? 64 * 1024 : 300));
            }
            assertEveryoneGotEverything(round(hs, sent), sent);
        }
    }

    @Test
    void partiesOfOneClientAreToldApartByNumberedNames() throws Exception {
        List<DistributedBarrier> hs = handles(Topology.THREADS_ON_ONE_HANDLE, "names", 3);
        List<Exchange> got = round(hs, List.of(new byte[]{1}, new byte[]{2}, new byte[]{3}));
        assertEquals(Set.of("shared", "shared#2", "shared#3"), got.get(0).byParty().keySet());
    }

    @Test
    void aReleaseTooLargeForOneFrameArrivesWholeInSeveral() throws Exception {
        List<DistributedBarrier> hs = handles(Topology.THREADS_ON_ONE_HANDLE, "large", 24);
        Random rnd = new Random(1);
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < hs.size(); i++) {
            byte[] b = new byte[60 * 1024]; // 24 x 60 KiB = 1.4 MiB: more than one 1 MiB frame
            rnd.nextBytes(b);
            sent.add(b);
        }
        assertEveryoneGotEverything(round(hs, sent), sent);
    }

    @Test
    void plainAwaitsAndExchangesMixOnOneBarrier() throws Exception {
        DistributedBarrier a = coordinator.client("a").barrier("mix", 2);
        DistributedBarrier b = coordinator.client("b").barrier("mix", 2);
        Future<Integer> plain = threads.submit(() -> a.await());
        waitFor(Duration.ofSeconds(10), () -> a.getNumberWaiting() == 1);
        Exchange e = b.exchangeAsync(new byte[]{9}).get(LIMIT_MS, TimeUnit.MILLISECONDS);
        assertEquals(1, plain.get(LIMIT_MS, TimeUnit.MILLISECONDS));
        assertEquals(2, e.contributions().size());
        assertArrayEquals(new byte[0], e.byParty().get("a"), "a plain await contributes nothing");
        assertArrayEquals(new byte[]{9}, e.byParty().get("b"));
    }

    @Test
    void aContributionOfAPartyThatTimesOutIsNeverDeliveredToAnyone() throws Exception {
        DistributedBarrier a = coordinator.client("a").barrier("secret", 3);
        DistributedBarrier b = coordinator.client("b").barrier("secret", 3);
        DistributedBarrier c = coordinator.client("c").barrier("secret", 3);
        byte[] secret = "never delivered".getBytes();
        Future<Exchange> waiting = threads.submit(() -> a.exchange("a1".getBytes()));
        waitFor(Duration.ofSeconds(10), () -> a.getNumberWaiting() == 1);
        assertThrows(TimeoutException.class, () -> b.exchange(secret, 200, TimeUnit.MILLISECONDS));
        ExecutionException broken = assertThrows(ExecutionException.class,
                () -> waiting.get(LIMIT_MS, TimeUnit.MILLISECONDS));
        assertInstanceOf(BrokenBarrierException.class, broken.getCause(), "nobody receives a partial set");
        a.reset();
        List<Exchange> next = round(List.of(a, b, c), List.of("a2".getBytes(), "b2".getBytes(), "c2".getBytes()));
        for (Exchange e : next) {
            for (Exchange.Contribution k : e.contributions()) {
                assertFalse(Arrays.equals(secret, k.data()), "the timed-out party's contribution reappeared");
                assertFalse(Arrays.equals("a1".getBytes(), k.data()), "a broken generation's contribution reappeared");
            }
        }
    }

    @Test
    void aContributionOverTheLimitIsRefusedWithoutBreakingTheBarrier() throws Exception {
        DistributedBarrier a = coordinator.client("a").barrier("limit", 2);
        DistributedBarrier b = coordinator.client("b").barrier("limit", 2);
        CompletableFuture<Exchange> waiting = a.exchangeAsync(new byte[]{1});
        waitFor(Duration.ofSeconds(10), () -> a.getNumberWaiting() == 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.exchange(new byte[64 * 1024 + 1]));
        assertEquals("a contribution of 65537 bytes exceeds the limit of 65536 bytes", e.getMessage());
        assertFalse(a.isBroken());
        assertEquals(1, a.getNumberWaiting(), "the waiting party still waits");
        b.exchange(new byte[64 * 1024]);
        assertEquals(2, waiting.get(LIMIT_MS, TimeUnit.MILLISECONDS).contributions().size());
    }

    @Test
    void aBarrierHoldingTooManyBytesRefusesTheNextContributionWithoutBreaking() throws Exception {
        coordinator.close();
        coordinator = new LiveCoordinator(ServerConfig.ephemeralLoopback()
                .withLimits(new BarrierCore.Limits(64 * 1024, 100 * 1024)));
        DistributedBarrier a = coordinator.client("a").barrier("full", 3);
        DistributedBarrier b = coordinator.client("b").barrier("full", 3);
        DistributedBarrier c = coordinator.client("c").barrier("full", 3);
        CompletableFuture<Exchange> first = a.exchangeAsync(new byte[60 * 1024]);
        waitFor(Duration.ofSeconds(10), () -> a.getNumberWaiting() == 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.exchange(new byte[60 * 1024]));
        assertTrue(e.getMessage().contains("already holds 61440 bytes"), e.getMessage());
        assertFalse(a.isBroken());
        CompletableFuture<Exchange> second = b.exchangeAsync(new byte[30 * 1024]);
        Exchange third = c.exchange(new byte[1]);
        assertEquals(3, third.contributions().size());
        assertEquals(third.contributions(), first.get(LIMIT_MS, TimeUnit.MILLISECONDS).contributions());
        assertEquals(third.contributions(), second.get(LIMIT_MS, TimeUnit.MILLISECONDS).contributions());
    }
}
