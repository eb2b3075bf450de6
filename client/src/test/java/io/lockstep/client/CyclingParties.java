package io.lockstep.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parties that cycle a barrier of a group while a test does things to the group, each its own client: what every
 * await returned, and the longest wait for a release since it was last reset. {@link #close} checks that every
 * generation released every party exactly once and that no party saw an error.
 */
final class CyclingParties implements AutoCloseable {

    private static final Duration LIMIT = Duration.ofSeconds(60);

    private final int count;
    private final List<LockstepClient> clients = new ArrayList<>();
    private final List<List<Integer>> indices = new ArrayList<>();
    private final List<CompletableFuture<Void>> parties = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong lastRelease = new AtomicLong(System.nanoTime());
    private final AtomicLong longestGap = new AtomicLong();

    CyclingParties(String addresses, String barrier, int count) throws Exception {
        this.count = count;
        for (int p = 0; p < count; p++) {
            LockstepClient c = LockstepClient.builder().address(addresses).clientName("p" + p).connect();
            clients.add(c);
            List<Integer> mine = new ArrayList<>();
            indices.add(mine);
            DistributedBarrier b = c.barrier(barrier, count);
            boolean timer = p == 0; // party p0 times the releases: once a generation
            parties.add(CompletableFuture.runAsync(() -> {
                try {
                    while (!stop.get()) {
                        int index = b.await(60, TimeUnit.SECONDS);
                        synchronized (mine) {
                            mine.add(index);
                        }
                        if (timer) {
                            long now = System.nanoTime();
                            longestGap.accumulateAndGet(now - lastRelease.getAndSet(now), Math::max);
                        }
                    }
                } catch (Exception e) {
                    if (!stop.get()) {
                        throw new AssertionError("a party saw " + e, e);
                    }
                }
            }));
        }
    }

    /** Waits until every party passed {@code n} more generations (failing at once if a party failed). */
    void awaitRounds(int n) {
        int goal = rounds() + n;
        await().atMost(LIMIT).until(() -> {
            for (CompletableFuture<Void> p : parties) {
                if (p.isDone()) {
                    p.join(); // throws what the party saw
                }
            }
            return rounds() >= goal;
        });
    }

    /** The generations every party has passed. */
    int rounds() {
        int r = Integer.MAX_VALUE;
        for (List<Integer> mine : indices) {
            synchronized (mine) {
                r = Math.min(r, mine.size());
            }
        }
        return r;
    }

    /** The longest a release was waited for since the last call, in milliseconds. */
    long longestWaitMillis() {
        return TimeUnit.NANOSECONDS.toMillis(longestGap.getAndSet(0));
    }

    /** Stops the parties and checks every generation: each index once, every party through the same ones. */
    @Override
    public void close() throws Exception {
        stop.set(true);
        for (LockstepClient c : clients) {
            c.close(); // ends each party's last await, which nobody completes
        }
        for (CompletableFuture<Void> p : parties) {
            p.get(30, TimeUnit.SECONDS); // no party saw an error while it ran
        }
        int rounds = rounds();
        Set<Integer> all = new HashSet<>();
        for (int i = 0; i < count; i++) {
            all.add(i);
        }
        for (int r = 0; r < rounds; r++) {
            Set<Integer> seen = new HashSet<>();
            for (List<Integer> mine : indices) {
                seen.add(mine.get(r));
            }
            assertEquals(all, seen, "generation " + (r + 1) + ": every index once");
        }
        for (List<Integer> mine : indices) {
            assertTrue(mine.size() - rounds <= 1, "every party passed the same generations");
        }
        System.out.printf("%d generations of %d parties, each index once in each%n", rounds, count);
    }
}
