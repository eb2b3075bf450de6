package io.lockstep.client;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded runs of parties cycling through barriers while the nodes of a group are killed and restarted, one at a time
 * (a majority alive throughout), the leader among them; afterwards the history is checked. Three parties exchange
 * "party:round" at every round of one barrier: every generation released all three parties or none, each with the
 * same three contributions of the same round (so no release came before all had arrived, and no await was answered
 * twice or for another round), and the indices of each generation are a permutation. A fourth party times out, again
 * and again, at a barrier nobody else comes to: no timeout fires early. Nobody sees a broken barrier.
 *
 * <p>{@code -Dlockstep.history.seeds=N} (default 2), each about {@code CHAOS_MILLIS} of chaos; a failure names the seed.
 */
class GroupHistoryIT {

    private static final int SEEDS = Integer.getInteger("lockstep.history.seeds", 2);
    private static final long CHAOS_MILLIS = 12_000;
    private static final int PARTIES = 3;
    private static final long TIMEOUT_MILLIS = 300;

    /** What one party saw at one round: the generation, its index, and every contribution by party. */
    private record Seen(long generation, int index, Map<String, String> contributions) {
    }

    @Test
    void everyGenerationIsReleasedWholeOnceAcrossKillsAndRestarts() throws Exception {
        for (long seed = 1; seed <= SEEDS; seed++) {
            run(seed);
        }
    }

    private void run(long seed) throws Exception {
        Random rnd = new Random(seed);
        ExecutorService threads = Executors.newCachedThreadPool();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger stopBefore = new AtomicInteger(Integer.MAX_VALUE);
        Map<String, List<Seen>> history = new ConcurrentHashMap<>();
        List<String> failures = new CopyOnWriteArrayList<>();
        List<Long> timeouts = new CopyOnWriteArrayList<>();
        List<LockstepClient> clients = new ArrayList<>();
        try (CoordinatorGroup group = new CoordinatorGroup(3)) {
            List<Future<?>> loops = new ArrayList<>();
            for (int p = 0; p < PARTIES; p++) {
                String name = "p" + p;
                LockstepClient c = LockstepClient.builder().address(group.addresses()).clientName(name).connect();
                clients.add(c);
                DistributedBarrier b = c.barrier("history", PARTIES);
                history.put(name, new CopyOnWriteArrayList<>());
                loops.add(threads.submit(() -> exchangeRounds(name, b, stopBefore, history.get(name), failures)));
            }
            LockstepClient lonely = LockstepClient.builder().address(group.addresses()).clientName("lonely").connect();
            clients.add(lonely);
            DistributedBarrier alone = lonely.barrier("alone", 2);
            loops.add(threads.submit(() -> timeOutAgainAndAgain(alone, stop, timeouts, failures)));

            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHAOS_MILLIS);
            int kills = 0;
            while (System.nanoTime() < end) {
                Thread.sleep(500 + rnd.nextInt(1500));
                int victim = rnd.nextInt(3) == 0 ? group.leader(30) : rnd.nextInt(group.size());
                group.kill(victim);
                kills++;
                Thread.sleep(300 + rnd.nextInt(1200));
                group.start(victim);
            }
            Thread.sleep(2_000); // rounds with every node back
            stop.set(true);
            // No party is past the round the furthest has reached (or one more, if one ended while this looked):
            // all of them finish those, and stop there.
            stopBefore.set(history.values().stream().mapToInt(List::size).max().orElse(0) + 2);
            for (Future<?> f : loops) {
                f.get(120, TimeUnit.SECONDS);
            }
            check(seed, history, failures, timeouts, kills);
        } finally {
            stop.set(true);
            stopBefore.set(0);
            clients.forEach(LockstepClient::close);
            threads.shutdownNow();
        }
    }

    private static void exchangeRounds(String name, DistributedBarrier b, AtomicInteger stopBefore, List<Seen> seen,
                                       List<String> failures) {
        // Every party stops before the same round, so that no party waits for one that stopped.
        for (int round = 0; round < stopBefore.get(); round++) {
            try {
                Exchange e = b.exchange((name + ":" + round).getBytes(StandardCharsets.UTF_8), 90, TimeUnit.SECONDS);
                Map<String, String> cs = new HashMap<>();
                e.byParty().forEach((party, data) -> cs.put(party, new String(data, StandardCharsets.UTF_8)));
                seen.add(new Seen(e.generation(), e.index(), cs));
            } catch (Exception e) {
                failures.add(name + " at round " + round + ": " + e);
                return;
            }
        }
    }

    private static void timeOutAgainAndAgain(DistributedBarrier b, AtomicBoolean stop, List<Long> timeouts,
                                             List<String> failures) {
        while (!stop.get()) {
            try {
                b.reset();
                long start = System.nanoTime();
                try {
                    b.await(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
                    failures.add("the lonely party passed a barrier nobody else came to");
                    return;
                } catch (TimeoutException expected) {
                    timeouts.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                }
            } catch (Exception e) {
                failures.add("lonely: " + e);
                return;
            }
        }
    }

    private static void check(long seed, Map<String, List<Seen>> history, List<String> failures, List<Long> timeouts,
                              int kills) {
        assertTrue(failures.isEmpty(), "seed " + seed + ": " + failures);
        int rounds = history.get("p0").size();
        for (List<Seen> s : history.values()) {
            assertEquals(rounds, s.size(), "seed " + seed + ": every party passed as many rounds");
        }
        for (int r = 0; r < rounds; r++) {
            Set<Integer> indices = new HashSet<>();
            long generation = history.get("p0").get(r).generation();
            for (int p = 0; p < PARTIES; p++) {
                Seen s = history.get("p" + p).get(r);
                indices.add(s.index());
                assertEquals(generation, s.generation(), "seed " + seed + " round " + r + ": one generation");
                Map<String, String> expected = new HashMap<>();
                for (int q = 0; q < PARTIES; q++) {
                    expected.put("p" + q, "p" + q + ":" + r);
                }
                assertEquals(expected, s.contributions(), "seed " + seed + " round " + r + ": all three, this round");
            }
            assertEquals(Set.of(0, 1, 2), indices, "seed " + seed + " round " + r + ": a permutation");
            if (r > 0) {
                assertEquals(history.get("p0").get(r - 1).generation() + 1, generation,
                        "seed " + seed + ": generations follow each other");
            }
        }
        for (long t : timeouts) {
            if (t < TIMEOUT_MILLIS) {
                fail("seed " + seed + ": a " + TIMEOUT_MILLIS + " ms timeout fired after " + t + " ms");
            }
        }
        assertTrue(rounds > 10 && !timeouts.isEmpty(), "seed " + seed + ": too little happened: " + rounds
                + " rounds, " + timeouts.size() + " timeouts");
        System.out.printf("history seed %d: %d kills, %d rounds of %d parties, %d timeouts (%d-%d ms for %d ms), "
                        + "all checked%n", seed, kills, rounds, PARTIES, timeouts.size(),
                timeouts.stream().mapToLong(Long::longValue).min().orElse(0),
                timeouts.stream().mapToLong(Long::longValue).max().orElse(0), TIMEOUT_MILLIS);
    }
}
