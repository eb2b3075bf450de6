package io.lockstep.client;

import org.junit.jupiter.api.Test;

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
 * A rolling restart of a group, as an operator does one (an upgrade, a new setting): each node in turn stopped with
 * SIGTERM and started again on its data, the followers first and the leader last — after it handed the lead to a
 * follower ({@code bin/lockstep group transfer-leader}) — each back and ready before the next goes, while four
 * parties cycle a barrier. Every await completes exactly once, with a permutation of the
 * indices in every generation, and no party sees an error; the pause each restart caused is printed.
 */
class RollingRestartIT {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final int PARTIES = 4;

    @Test
    void restartingEveryNodeInTurnCostsThePartiesNothingButAPause() throws Exception {
        try (CoordinatorGroup group = new CoordinatorGroup(3)) {
            List<LockstepClient> clients = new ArrayList<>();
            List<List<Integer>> indices = new ArrayList<>();
            List<CompletableFuture<Void>> parties = new ArrayList<>();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong lastRelease = new AtomicLong(System.nanoTime()); // by party p0: once a generation
            AtomicLong longestGap = new AtomicLong(); // between two releases, since it was last reset
            for (int p = 0; p < PARTIES; p++) {
                LockstepClient c = LockstepClient.builder().address(group.addresses()).clientName("p" + p).connect();
                clients.add(c);
                List<Integer> mine = new ArrayList<>();
                indices.add(mine);
                DistributedBarrier b = c.barrier("rolling", PARTIES);
                parties.add(CompletableFuture.runAsync(() -> {
                    try {
                        while (!stop.get()) {
                            int index = b.await(60, TimeUnit.SECONDS);
                            synchronized (mine) {
                                mine.add(index);
                            }
                            if (mine == indices.get(0)) {
                                long now = System.nanoTime();
                                long gap = now - lastRelease.getAndSet(now);
                                longestGap.accumulateAndGet(gap, Math::max);
                            }
                        }
                    } catch (Exception e) {
                        if (!stop.get()) {
                            throw new AssertionError("a party saw " + e, e);
                        }
                    }
                }));
            }
            awaitRounds(indices, 20, parties);
            int leader = group.leader(30);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                if (i != leader) {
                    order.add(i);
                }
            }
            order.add(leader);
            for (int node : order) {
                if (node == leader) {
                    int to = order.get(0);
                    longestGap.set(0);
                    String said = transferLeadership(group, to);
                    await().atMost(LIMIT).until(() -> group.leader(30) == to);
                    awaitRounds(indices, 10, parties);
                    System.out.printf("rolling restart: the lead handed from n%d to n%d (%s); the longest the parties "
                            + "waited for a release meanwhile: %d ms%n", node + 1, to + 1, said,
                            TimeUnit.NANOSECONDS.toMillis(longestGap.get()));
                }
                longestGap.set(0);
                assertEquals(0, group.stop(node), "n" + (node + 1) + " exits 0 on SIGTERM");
                group.start(node);
                await().atMost(LIMIT).until(() -> group.httpStatus(node, "/readyz").equals("200 ready\n"));
                awaitRounds(indices, 10, parties); // the group goes on with the node back
                System.out.printf("rolling restart: n%d (%s) stopped with SIGTERM and started again; the longest "
                                + "the parties waited for a release meanwhile: %d ms%n", node + 1,
                        node == leader ? "the leader until it handed over" : "a follower", TimeUnit.NANOSECONDS.toMillis(longestGap.get()));
            }
            stop.set(true);
            for (LockstepClient c : clients) {
                c.close(); // ends each party's last await, which nobody completes
            }
            for (CompletableFuture<Void> p : parties) {
                p.get(30, TimeUnit.SECONDS); // no party saw an error while it ran
            }
            int rounds = Integer.MAX_VALUE;
            for (List<Integer> mine : indices) {
                rounds = Math.min(rounds, mine.size());
            }
            for (int r = 0; r < rounds; r++) {
                Set<Integer> seen = new HashSet<>();
                for (List<Integer> mine : indices) {
                    seen.add(mine.get(r));
                }
                assertEquals(Set.of(0, 1, 2, 3), seen, "generation " + (r + 1) + ": every index once");
            }
            for (List<Integer> mine : indices) {
                assertTrue(mine.size() - rounds <= 1, "every party passed the same generations");
            }
            System.out.printf("rolling restart of 3 nodes: %d generations of %d parties, each index once in each%n",
                    rounds, PARTIES);
        }
    }

    /** What an operator's {@code bin/lockstep group transfer-leader} does: asks the leader to hand over to {@code to}. */
    static String transferLeadership(CoordinatorGroup group, int to) throws Exception {
        try (LockstepClient operator = LockstepClient.builder().address(group.addresses()).clientName("operator")
                .connect()) {
            return operator.transferLeadership("n" + (to + 1));
        } catch (LockstepException e) {
            // The old leader may step down before its answer leaves; who leads then says whether it worked.
            assertTrue(e.getMessage().contains("connection was lost"), e.getMessage());
            return "its answer was lost as it stepped down";
        }
    }

    /** Waits until every party passed {@code n} more generations (failing at once if a party failed). */
    private static void awaitRounds(List<List<Integer>> indices, int n, List<CompletableFuture<Void>> parties) {
        int target = Integer.MAX_VALUE;
        for (List<Integer> mine : indices) {
            synchronized (mine) {
                target = Math.min(target, mine.size());
            }
        }
        int goal = target + n;
        await().atMost(LIMIT).until(() -> {
            for (CompletableFuture<Void> p : parties) {
                if (p.isDone()) {
                    p.join(); // throws what the party saw
                }
            }
            for (List<Integer> mine : indices) {
                synchronized (mine) {
                    if (mine.size() < goal) {
                        return false;
                    }
                }
            }
            return true;
        });
    }
}
