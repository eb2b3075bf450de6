package io.lockstep.client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A group of three coordinator JVMs and parties in JVMs of their own, against the real jars: the leader killed while
 * parties wait, a follower killed and brought back, the whole group restarted from its disk logs. In every case
 * every party is released exactly once, with a permutation of indices, and nobody sees a broken barrier.
 */
class ReplicatedGroupIT {

    private static final Pattern ROUND = Pattern.compile("^round (\\d+) index (\\d+)$");
    private static final Duration LIMIT = Duration.ofSeconds(60);

    private final List<Proc> parties = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stopParties() {
        parties.forEach(p -> p.process.destroyForcibly());
        threads.shutdownNow();
    }

    private Proc party(CoordinatorGroup group, String name, String barrier, int count) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Proc p = new Proc(List.of(Proc.java(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", cp,
                AwaitProcess.class.getName(), group.addresses(), name, barrier, "" + count, "1"));
        parties.add(p);
        p.expect(Pattern.compile("^ready$"), 60);
        return p;
    }

    private static boolean logged(CoordinatorGroup group, int node, String text) {
        return log(group, node).stream().anyMatch(l -> l.contains(text));
    }

    private static List<String> log(CoordinatorGroup group, int node) {
        try {
            return group.log(node);
        } catch (java.io.IOException e) {
            return List.of(e.toString());
        }
    }

    private static String http(CoordinatorGroup group, int node, String path) {
        try {
            return group.http(node, path);
        } catch (Exception e) {
            return e.toString();
        }
    }

    private static int waiting(LockstepClient observer, String barrier) {
        try {
            return observer.status(barrier).waiting().size();
        } catch (LockstepException e) {
            return -1; // not declared yet
        }
    }

    /** Every party passes its one round exactly once, exits 0, and the indices are a permutation. */
    private static void allReleasedOnce(List<Proc> ps) throws Exception {
        Set<String> indices = new HashSet<>();
        for (Proc p : ps) {
            Matcher m = p.expect(ROUND, 60);
            indices.add(m.group(2));
            assertTrue(p.process.waitFor(30, TimeUnit.SECONDS));
            List<String> lines = p.lines();
            assertEquals(0, p.process.exitValue(), "a party failed: " + lines);
            assertEquals(1, lines.stream().filter(l -> ROUND.matcher(l).matches()).count(), "once: " + lines);
            assertTrue(lines.stream().noneMatch(l -> l.startsWith("broken")), "nobody is broken: " + lines);
        }
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < ps.size(); i++) {
            expected.add("" + i);
        }
        assertEquals(expected, indices);
    }

    /** Node {@code i}'s answer to {@code path}: its status code, a space, its body. */
    private static String probe(CoordinatorGroup group, int i, String path) {
        try {
            return group.httpStatus(i, path);
        } catch (Exception e) {
            return e.toString();
        }
    }

    @Test
    void readinessSaysWhetherClientsMayBeSentToANodeAndLivenessThatItAnswers() throws Exception {
        try (CoordinatorGroup group = new CoordinatorGroup(3)) {
            int leader = group.leader(30);
            for (int i = 0; i < 3; i++) {
                int node = i;
                LiveCoordinator.waitFor(LIMIT, () -> probe(group, node, "/readyz").equals("200 ready\n"));
                assertEquals("200 ok\n", probe(group, node, "/livez"));
            }
            // The leader alone: it cannot reach a majority, so it is not ready, and later leads nobody; it still lives.
            for (int i = 0; i < 3; i++) {
                if (i != leader) {
                    group.kill(i);
                }
            }
            LiveCoordinator.waitFor(LIMIT, () -> probe(group, leader, "/readyz").startsWith("503 not ready: "));
            String alone = probe(group, leader, "/readyz");
            assertTrue(alone.contains("heard from only 1 of 3 nodes") || alone.contains("no leader is known"), alone);
            LiveCoordinator.waitFor(LIMIT, () -> probe(group, leader, "/readyz").contains("no leader is known"));
            assertEquals("200 ok\n", probe(group, leader, "/livez"));
            // A majority again: ready again, each node, whoever leads now.
            for (int i = 0; i < 3; i++) {
                if (i != leader) {
                    group.start(i);
                }
            }
            for (int i = 0; i < 3; i++) {
                int node = i;
                LiveCoordinator.waitFor(LIMIT, () -> probe(group, node, "/readyz").equals("200 ready\n"));
            }
        }
    }

    @Test
    void killingTheLeaderWhileThreeOfFourWaitLosesNoArrival() throws Exception {
        try (CoordinatorGroup group = new CoordinatorGroup(3);
             LockstepClient observer = LockstepClient.builder().address(group.addresses()).clientName("observer")
                     .connect()) {
            List<Proc> ps = new ArrayList<>();
            for (String n : List.of("p1", "p2", "p3")) {
                ps.add(party(group, n, "ha", 4));
            }
            LiveCoordinator.waitFor(LIMIT, () -> waiting(observer, "ha") == 3);
            int leader = group.leader(30);
            long killedAt = System.nanoTime();
            group.kill(leader);
            // The group answers again once a new leader has taken over and the parties' sessions resumed on it.
            LiveCoordinator.waitFor(LIMIT, () -> waiting(observer, "ha") == 3);
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
            int next = group.leader(30);
            System.out.printf("leader n%d killed with 3 of 4 parties waiting: n%d led and the group answered again "
                    + "after %d ms%n", leader + 1, next + 1, tookMillis);
            // What an operator sees: who leads, and where the others send clients.
            assertEquals("ok: leader n" + (next + 1) + ", serving clients at " + group.address(next) + "\n",
                    group.http(next, "/health"));
            int follower = 3 - leader - next;
            LiveCoordinator.waitFor(LIMIT, () -> http(group, follower, "/health").equals("ok: follower; the leader is n"
                    + (next + 1) + ", serving clients at " + group.address(next) + "\n"));
            // And what bin/lockstep status shows: the group as the leader sees it.
            GroupStatus g = observer.group().orElseThrow();
            assertEquals("n" + (next + 1), g.leader());
            assertEquals(g.leader(), g.self(), "the client is on the leader");
            assertEquals(3, g.nodes().size());
            assertEquals("leader", g.nodes().get(next).role());
            assertEquals(group.address(next), g.nodes().get(next).clientAddress());
            LiveCoordinator.waitFor(LIMIT, () -> {
                GroupStatus now = observer.group().orElseThrow();
                return now.nodes().get(follower).lag(now.commitIndex()) == 0;
            });
            String metrics = group.http(next, "/metrics");
            // It took over at least once (more if it also led before: the first election may take more than one term).
            Matcher changes = Pattern.compile("lockstep_leader_changes_total (\\d+)\\.0")
                    .matcher(metrics);
            assertTrue(metrics.contains("lockstep_raft_leader 1.0") && changes.find()
                    && Integer.parseInt(changes.group(1)) >= 1 && metrics.contains("lockstep_raft_term "), metrics);
            // The sessions it took over were proposed and applied through its log: their commit times are counted.
            Matcher commits = Pattern.compile("lockstep_raft_commit_seconds_count (\\d+)").matcher(metrics);
            assertTrue(commits.find() && Long.parseLong(commits.group(1)) >= 1, metrics);
            ps.add(party(group, "p4", "ha", 4));
            allReleasedOnce(ps);
        }
    }

    @Test
    void aFollowerKilledAndBroughtBackCatchesUpAndCarriesTheGroupWhenTheLeaderDies() throws Exception {
        // Small log segments and frequent snapshots: while the follower is down the others snapshot often, and keep
        // the log it lacks (purged only as far as every member has it), so it catches up from the leader's log.
        try (CoordinatorGroup group = new CoordinatorGroup(3, List.of("-Draft.server.log.segment.size.max=16KB",
                "-Draft.server.log.purge.gap=1"), "--snapshot-every", "40");
             LockstepClient a = LockstepClient.builder().address(group.addresses()).clientName("a").connect();
             LockstepClient b = LockstepClient.builder().address(group.addresses()).clientName("b").connect()) {
            DistributedBarrier ba = a.barrier("rounds", 2);
            DistributedBarrier bb = b.barrier("rounds", 2);
            int leader = group.leader(30);
            int follower = (leader + 1) % 3;
            group.kill(follower);
            rounds(ba, bb, 300); // two of three carry on, and snapshot, and purge their logs
            String dead = "n" + (follower + 1);
            LiveCoordinator.waitFor(LIMIT, () -> a.group().orElseThrow().nodes().stream()
                            .anyMatch(n -> n.id().equals(dead) && n.role().equals("unreachable")),
                    () -> "the leader does not call the dead follower unreachable: " + a.group());
            group.start(follower);
            rounds(ba, bb, 20);
            LiveCoordinator.waitFor(LIMIT, () -> {
                GroupStatus now = a.group().orElseThrow();
                return now.nodes().get(follower).lag(now.commitIndex()) == 0;
            }, () -> "the follower did not catch up: " + log(group, follower) + "\nthe leader's log: " + log(group, leader));
            group.kill(leader); // from here on, every commit needs the node that was brought back
            rounds(ba, bb, 20);
            int next = group.leader(30);
            assertTrue(next != leader, "a new leader");
            System.out.printf("follower n%d brought back; after leader n%d died, n%d led%n", follower + 1, leader + 1,
                    next + 1);
        }
    }

    @Test
    void aLeaderStoppedWithSigtermLeavesTheGroupAndBreaksNobodysBarrier() throws Exception {
        try (CoordinatorGroup group = new CoordinatorGroup(3);
             LockstepClient a = LockstepClient.builder().address(group.addresses()).clientName("a").connect();
             LockstepClient b = LockstepClient.builder().address(group.addresses()).clientName("b").connect()) {
            DistributedBarrier ba = a.barrier("term", 2);
            DistributedBarrier bb = b.barrier("term", 2);
            rounds(ba, bb, 10);
            int leader = group.leader(30);
            Future<Integer> waiting = threads.submit(() -> ba.await(60, TimeUnit.SECONDS));
            LiveCoordinator.waitFor(LIMIT, () -> waiting(b, "term") == 1);
            assertEquals(0, group.stop(leader), "a node that leaves exits 0");
            assertEquals(Set.of(0, 1), Set.of(bb.await(60, TimeUnit.SECONDS), waiting.get(60, TimeUnit.SECONDS)),
                    "the party waiting across the stop is released with the other, not broken");
            rounds(ba, bb, 10);
        }
    }

    /** {@code count} rounds of two parties on their own threads, each released once with indices {0, 1}. */
    private void rounds(DistributedBarrier x, DistributedBarrier y, int count) throws Exception {
        for (int r = 0; r < count; r++) {
            Future<Integer> fx = threads.submit(() -> x.await(60, TimeUnit.SECONDS));
            Future<Integer> fy = threads.submit(() -> y.await(60, TimeUnit.SECONDS));
            assertEquals(Set.of(0, 1), Set.of(fx.get(90, TimeUnit.SECONDS), fy.get(90, TimeUnit.SECONDS)),
                    "round " + r);
        }
    }

    @Test
    void restartingTheWholeGroupFromItsSnapshotsAndDiskLogsKeepsBarriersAndSessions() throws Exception {
        // Leases of 30 s: three JVMs restarting at once on a loaded machine must not outlast the parties' sessions.
        try (CoordinatorGroup group = new CoordinatorGroup(3, "--snapshot-every", "40", "--session-lease", "30s");
             LockstepClient observer = LockstepClient.builder().address(group.addresses()).clientName("observer")
                     .connect()) {
            DistributedBarrier solo = observer.barrier("solo", 1);
            for (int i = 0; i < 200; i++) {
                solo.await(30, TimeUnit.SECONDS); // entries enough for several snapshots
            }
            List<Proc> ps = new ArrayList<>();
            ps.add(party(group, "r1", "restart", 3));
            ps.add(party(group, "r2", "restart", 3));
            LiveCoordinator.waitFor(LIMIT, () -> waiting(observer, "restart") == 2);
            for (int i = 0; i < group.size(); i++) {
                group.kill(i);
            }
            long downAt = System.nanoTime();
            group.startAll(); // within the parties' session lease: they resume
            LiveCoordinator.waitFor(LIMIT, () -> waiting(observer, "restart") == 2);
            System.out.printf("whole group killed and restarted: the waiting parties were back after %d ms%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downAt));
            for (int i = 0; i < group.size(); i++) {
                assertTrue(group.log(i).stream().anyMatch(l -> l.contains("loaded the snapshot at")),
                        "node n" + (i + 1) + " started from its snapshot: " + group.log(i));
            }
            ps.add(party(group, "r3", "restart", 3));
            allReleasedOnce(ps);
        }
    }
}
