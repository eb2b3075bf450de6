package io.lockstep.client;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A group's time is its own, monotonic: the nodes run with wall clocks this test moves (libfaketime, monotonic clocks
 * untouched), and neither a step of the leader's clock by an hour, back or forward, nor a failover to a node whose
 * clock is 30 s ahead or behind, moves a timeout, a lease or a reconnect grace; and a group on a machine whose cores
 * are busy with other work keeps its leader.
 */
class GroupTimeIT {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final String REQUIRE = "LOCKSTEP_REQUIRE_TOOLS"; // CI's strictness: a missing tool fails
    private static final List<Path> LIBFAKETIME = List.of(
            Path.of("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
            Path.of("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
            Path.of("/usr/lib/faketime/libfaketime.so.1"));
    /** Far above what a timeout may be late by: a failover (about a second) and a loaded machine. */
    private static final long LATE_AT_MOST_MILLIS = 6_000;

    private static Path libfaketime() {
        for (Path p : LIBFAKETIME) {
            if (Files.isReadable(p)) {
                return p;
            }
        }
        String why = "moving the nodes' wall clocks needs libfaketime (Debian's faketime package)";
        if (System.getenv(REQUIRE) != null) {
            fail(why + ", and " + REQUIRE + " is set");
        }
        Assumptions.abort(why);
        return null;
    }

    /** Each node's wall clock, as an offset libfaketime reads on every call ("+0", "-3600", ...). */
    private static final class Clocks {
        final Path dir;

        Clocks(int nodes) throws Exception {
            dir = Files.createTempDirectory("lockstep-clocks-");
            for (int i = 0; i < nodes; i++) {
                set(i, "+0");
            }
        }

        Map<String, String> environment(int node, Path lib) {
            return Map.of("LD_PRELOAD", lib.toString(), "FAKETIME_TIMESTAMP_FILE", file(node).toString(),
                    "FAKETIME_NO_CACHE", "1", "FAKETIME_DONT_FAKE_MONOTONIC", "1",
                    "FAKETIME_FORCE_MONOTONIC_FIX", "0");
        }

        Path file(int node) {
            return dir.resolve("clock-n" + (node + 1));
        }

        /** Moves node {@code node}'s wall clock to {@code offset} seconds from the real one, at once. */
        void set(int node, String offset) throws Exception {
            Path tmp = dir.resolve("next");
            Files.writeString(tmp, offset + "\n");
            Files.move(tmp, file(node), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static LockstepClient client(CoordinatorGroup group, String name) throws Exception {
        return LockstepClient.builder().address(group.addresses()).clientName(name).connect();
    }

    private static int waiting(LockstepClient observer, String barrier) {
        try {
            return observer.status(barrier).waiting().size();
        } catch (LockstepException e) {
            return -1;
        }
    }

    /** A timeout of {@code millis} started now is the coordinator's, and fires neither early nor much late. */
    private static long timesOutOnTime(LockstepClient party, String barrier, long millis) {
        long start = System.nanoTime();
        TimeoutException e = assertThrows(TimeoutException.class,
                () -> party.barrier(barrier, 2).await(millis, TimeUnit.MILLISECONDS));
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertFalse(e.getMessage().contains("no answer from the coordinator"), "the coordinator timed it: " + e);
        assertTrue(took >= millis - 5, "a " + millis + " ms timeout fired early, after " + took + " ms");
        assertTrue(took <= millis + LATE_AT_MOST_MILLIS, "a " + millis + " ms timeout fired after " + took + " ms");
        return took;
    }

    private Proc party(CoordinatorGroup group, String name, String barrier, int parties) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Proc p = new Proc(List.of(Proc.java(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", cp,
                AwaitProcess.class.getName(), group.addresses(), name, barrier, "" + parties, "1"));
        p.expect(Pattern.compile("^ready$"), 60);
        return p;
    }

    @Test
    void stepsOfTheLeadersWallClockByAnHourMoveNoTimeoutNoLeaseAndNoGrace() throws Exception {
        Path lib = libfaketime();
        Clocks clocks = new Clocks(3);
        try (CoordinatorGroup group = new CoordinatorGroup(3, List.of(), i -> clocks.environment(i, lib));
             LockstepClient observer = client(group, "observer");
             LockstepClient live = client(group, "live");
             LockstepClient other = client(group, "other");
             LockstepClient timed = client(group, "timed")) {
            int leader = group.leader(30);
            Proc doomed = party(group, "doomed", "k", 3);
            CompletableFuture<Integer> liveAtK = live.barrier("k", 3).awaitAsync();
            await().atMost(LIMIT).until(() -> waiting(observer, "k") == 2);
            CompletableFuture<Integer> otherAtW = other.barrier("w", 2).awaitAsync(); // no timeout: waits throughout
            await().atMost(LIMIT).until(() -> waiting(observer, "w") == 1);

            // Back an hour; a waiting party is killed at once. The others learn it within the reconnect grace.
            clocks.set(leader, "-3600");
            long killedAt = System.nanoTime();
            doomed.process.destroyForcibly();
            ExecutionException broken = assertThrows(ExecutionException.class, () -> liveAtK.get(30, TimeUnit.SECONDS));
            long namedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
            assertInstanceOf(BrokenBarrierException.class, broken.getCause());
            assertTrue(broken.getCause().getMessage().contains("party 'doomed' was lost"), broken.getCause().getMessage());
            assertTrue(namedAfter <= 1_000 + LATE_AT_MOST_MILLIS, "named after " + namedAfter + " ms");
            long back = timesOutOnTime(timed, "after-back", 3_000);

            // Put right (forward an hour), then forward another hour, while a party waits with a 60 s timeout.
            clocks.set(leader, "+0");
            CompletableFuture<Integer> longWait = live.barrier("long", 2).awaitAsync(Duration.ofSeconds(60));
            await().atMost(LIMIT).until(() -> waiting(observer, "long") == 1);
            clocks.set(leader, "+3600");
            long forward = timesOutOnTime(timed, "after-forward", 3_000); // the silence sweeps ran meanwhile
            assertFalse(longWait.isDone(), "a 60 s timeout fired after 3 s: " + longWait);
            assertFalse(otherAtW.isDone(), "a live party's wait ended: " + otherAtW);
            timed.barrier("w", 2).await(30, TimeUnit.SECONDS);
            otherAtW.get(30, TimeUnit.SECONDS); // released, not broken: its session lived through both steps
            assertEquals(leader, group.leader(30));
            System.out.printf("leader's wall clock back and forward an hour: the lost party named after %d ms, 3 s "
                    + "timeouts after %d and %d ms%n", namedAfter, back, forward);
        }
    }

    @Test
    void aFailoverToANodeWhoseClockIsAheadOrBehindFiresNoTimeoutEarlyAndNoneMuchLate() throws Exception {
        Path lib = libfaketime();
        Clocks clocks = new Clocks(3);
        try (CoordinatorGroup group = new CoordinatorGroup(3, List.of(), i -> clocks.environment(i, lib));
             LockstepClient observer = client(group, "observer");
             LockstepClient timed = client(group, "timed")) {
            for (String offset : List.of("+30", "-30")) {
                int leader = group.leader(30);
                for (int i = 0; i < 3; i++) {
                    clocks.set(i, i == leader ? "+0" : offset); // whoever leads next is 30 s ahead, or behind
                }
                String barrier = "failover" + offset;
                long start = System.nanoTime();
                CompletableFuture<Integer> wait = timed.barrier(barrier, 2).awaitAsync(Duration.ofSeconds(10));
                await().atMost(LIMIT).until(() -> waiting(observer, barrier) == 1);
                group.kill(leader);
                ExecutionException e = assertThrows(ExecutionException.class, () -> wait.get(60, TimeUnit.SECONDS));
                long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertInstanceOf(TimeoutException.class, e.getCause());
                assertFalse(e.getCause().getMessage().contains("no answer from the coordinator"), e.getCause().toString());
                assertTrue(took >= 10_000 - 5, "a 10 s timeout fired early, after " + took + " ms (clock " + offset + ")");
                assertTrue(took <= 10_000 + LATE_AT_MOST_MILLIS, "after " + took + " ms (clock " + offset + ")");
                int next = group.leader(30);
                System.out.printf("failover from n%d to n%d, whose wall clock is %s s: a 10 s timeout fired after %d ms%n",
                        leader + 1, next + 1, offset, took);
                group.start(leader);
            }
        }
    }

    @Test
    void aGroupOnAMachineWhoseCoresAreBusyKeepsItsLeader() throws Exception {
        List<Process> burners = new ArrayList<>();
        try (CoordinatorGroup group = new CoordinatorGroup(3);
             LockstepClient a = client(group, "a");
             LockstepClient b = client(group, "b")) {
            int leader = group.leader(30);
            int cores = Runtime.getRuntime().availableProcessors();
            for (int i = 0; i < cores; i++) { // every core busy with work of no concern to the group
                burners.add(new ProcessBuilder("sh", "-c", "while :; do :; done").start());
            }
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong rounds = new AtomicLong();
            CompletableFuture<Void> other = CompletableFuture.runAsync(() -> {
                try {
                    while (!stop.get()) {
                        b.barrier("busy", 2).await(30, TimeUnit.SECONDS);
                    }
                } catch (Exception e) {
                    if (!stop.get()) {
                        throw new AssertionError(e);
                    }
                }
            });
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(BUSY_SECONDS);
            while (System.nanoTime() < end) {
                a.barrier("busy", 2).await(30, TimeUnit.SECONDS);
                rounds.incrementAndGet();
            }
            stop.set(true);
            b.close(); // ends the other party's last await, which nobody will complete
            other.get(30, TimeUnit.SECONDS);
            long changes = 0;
            for (int i = 0; i < 3; i++) {
                changes = Math.max(changes, counter(group.http(i, "/metrics"), "lockstep_raft_leader_changes_total"));
            }
            System.out.printf("%d s with every core busy elsewhere: %d rounds, %d leader change(s) seen (the first "
                    + "election included)%n", BUSY_SECONDS, rounds.get(), changes);
            assertEquals(leader, group.leader(30), "the same node leads");
            assertEquals(1, changes, "no node saw a leader change after the first election");
        } finally {
            burners.forEach(Process::destroyForcibly);
        }
    }

    private static final int BUSY_SECONDS = Integer.getInteger("lockstep.busy.seconds", 90);

    private static long counter(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(metrics);
        assertTrue(m.find(), name + " in " + metrics);
        return (long) Double.parseDouble(m.group(1));
    }
}
