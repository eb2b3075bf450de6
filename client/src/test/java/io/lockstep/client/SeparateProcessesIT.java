package io.lockstep.client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parties in separate JVM processes against the coordinator's real jar, started as a user would start it.
 */
class SeparateProcessesIT {

    private static final File COORDINATOR_JAR = new File("../coordinator/target/lockstep-coordinator.jar");
    private static final Pattern LISTENING = Pattern.compile("listening on .*:(\\d+) ");

    private final List<Proc> procs = new ArrayList<>();
    private Proc coordinator;
    private String address;

    private static String java() {
        return Proc.java();
    }

    @BeforeEach
    void startCoordinator() throws Exception {
        assertTrue(COORDINATOR_JAR.isFile(), "build the coordinator jar first: " + COORDINATOR_JAR.getAbsolutePath());
        // Default leases (10 s) and reconnect grace (1 s): a killed party must be noticed through the grace.
        coordinator = new Proc(List.of(java(), "-jar", COORDINATOR_JAR.getPath(), "--port", "0", "--bind",
                "127.0.0.1", "--http-port", "0"));
        address = "127.0.0.1:" + coordinator.expect(LISTENING, 30).group(1);
    }

    @AfterEach
    void stopAll() {
        procs.forEach(p -> p.process.destroyForcibly());
        if (coordinator != null) {
            coordinator.process.destroyForcibly();
        }
    }

    private Proc party(String name, String barrier, int parties, int rounds, String... mode) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return party(cp, name, barrier, parties, rounds, mode);
    }

    private Proc party(String cp, String name, String barrier, int parties, int rounds, String... mode)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java(), "-cp", cp, AwaitProcess.class.getName(), address, name,
                barrier, "" + parties, "" + rounds));
        cmd.addAll(List.of(mode));
        Proc p = new Proc(cmd);
        procs.add(p);
        return p;
    }

    @Test
    void partiesInSeparateProcessesPassInLockstep() throws Exception {
        int parties = 3;
        int rounds = 5;
        for (int i = 0; i < parties; i++) {
            party("proc" + i, "procs", parties, rounds);
        }
        List<Set<Integer>> indices = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            indices.add(new HashSet<>());
        }
        Pattern line = Pattern.compile("round (\\d+) index (\\d+)");
        for (Proc p : procs) {
            for (int r = 1; r <= rounds; r++) {
                Matcher m = p.expect(line, 30);
                assertEquals(r, Integer.parseInt(m.group(1)));
                indices.get(r - 1).add(Integer.parseInt(m.group(2)));
            }
            assertTrue(p.process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.process.exitValue());
        }
        for (Set<Integer> round : indices) {
            assertEquals(Set.of(0, 1, 2), round);
        }
    }

    @Test
    void theSelfContainedClientJarAloneRunsAPartyAndPrintsNoLoggingWarnings() throws Exception {
        File all = new File("target/lockstep-client-all.jar");
        assertTrue(all.isFile(), "package the client first: " + all.getAbsolutePath());
        // The jar and the party's own class: no Netty, no logger, nothing else on the class path.
        String cp = all.getPath() + File.pathSeparator + "target/test-classes";
        Proc a = party(cp, "lean-a", "lean", 2, 2);
        Proc b = party(cp, "lean-b", "lean", 2, 2);
        for (Proc p : List.of(a, b)) {
            assertTrue(p.process.waitFor(30, TimeUnit.SECONDS));
            List<String> lines = Files.readAllLines(p.output, StandardCharsets.UTF_8);
            assertEquals(0, p.process.exitValue(), lines.toString());
            assertEquals(3, lines.size(), "ready and two rounds, nothing else (no SLF4J warnings): " + lines);
            assertTrue(lines.get(2).startsWith("round 2 index "), lines.toString());
        }
    }

    @Test
    void partiesInSeparateProcessesExchangeTheSameContributions() throws Exception {
        List<String> names = List.of("ana", "ben", "cy");
        for (String n : names) {
            party(n, "swap", names.size(), 3, "exchange");
        }
        Pattern got = Pattern.compile("round (\\d+) got (.*)");
        for (int r = 1; r <= 3; r++) {
            Set<String> seen = new HashSet<>();
            for (Proc p : procs) {
                Matcher m = p.expect(got, 30);
                assertEquals(r, Integer.parseInt(m.group(1)));
                seen.add(m.group(2));
                for (String n : names) {
                    assertTrue(m.group(2).contains(n + "=" + n + "@" + r + ","), m.group(2));
                }
            }
            assertEquals(1, seen.size(), "all processes received the same contributions in the same order: " + seen);
        }
        for (Proc p : procs) {
            assertTrue(p.process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.process.exitValue());
        }
    }

    @Test
    void killingOnePartyProcessBreaksTheBarrierForTheOthersWithinTheReconnectGraceNamingIt() throws Exception {
        Matcher m = killOneOfThree("kill", false);
        assertTrue(m.group(1).contains("party 'doomed' was lost: its connection was closed and it did not come back "
                + "within 1.0 s"), m.group(1));
    }

    @Test
    void sigtermOfOnePartyProcessStillAtWorkBreaksTheBarrierForTheOthersAtOnceNamingIt() throws Exception {
        Matcher m = killOneOfThree("term-party", true);
        assertTrue(m.group(1).contains("party 'doomed' was lost: its process is exiting, before it arrived"),
                m.group(1));
    }

    /**
     * Three parties, two of them processes; kills one of those while the other waits — with SIGKILL once it waits
     * too, with SIGTERM (as Ctrl-C) while it is still at work, before it arrives — and returns the survivor's line
     * about the break, which must come within the reconnect grace and a second.
     */
    private Matcher killOneOfThree(String barrier, boolean sigterm) throws Exception {
        Proc a = party("alive", barrier, 3, 1);
        Proc doomed = sigterm ? party("doomed", barrier, 3, 1, "hold") : party("doomed", barrier, 3, 1);
        a.expect(Pattern.compile("ready"), 30);
        doomed.expect(Pattern.compile("ready"), 30);
        try (LockstepClient observer = LockstepClient.connect(address)) {
            DistributedBarrier b = observer.barrier(barrier, 3);
            int waiting = sigterm ? 1 : 2;
            LiveCoordinator.waitFor(java.time.Duration.ofSeconds(30), () -> b.getNumberWaiting() == waiting);
            long start = System.nanoTime();
            if (sigterm) {
                doomed.process.destroy(); // the client's exit hook says goodbye
            } else {
                doomed.process.destroyForcibly(); // SIGKILL: no goodbye, the kernel closes the socket
            }
            Matcher m = a.expect(Pattern.compile("broken: (.*)"), 1 + 1);
            System.out.printf("%s of a party: the others broken after %d ms (session lease 10 s, grace 1 s)%n",
                    sigterm ? "SIGTERM" : "SIGKILL", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            assertTrue(a.process.waitFor(10, TimeUnit.SECONDS));
            assertEquals(3, a.process.exitValue());
            return m;
        }
    }

    @Test
    void sigtermStopsTheCoordinatorCleanlyAndEveryWaiterLearnsWhy() throws Exception {
        Proc a = party("waiter", "term", 2, 1);
        a.expect(Pattern.compile("ready"), 30);
        try (LockstepClient observer = LockstepClient.connect(address)) {
            DistributedBarrier b = observer.barrier("term", 2);
            LiveCoordinator.waitFor(java.time.Duration.ofSeconds(30), () -> b.getNumberWaiting() == 1);
        }
        coordinator.process.destroy(); // SIGTERM
        Matcher m = a.expect(Pattern.compile("broken: (.*)"), 10);
        assertTrue(m.group(1).contains("coordinator shutting down"), m.group(1));
        assertTrue(coordinator.process.waitFor(10, TimeUnit.SECONDS), "coordinator exits within 10 s");
        assertEquals(0, coordinator.process.exitValue());
        assertNotNull(coordinator.expect(Pattern.compile("stopped"), 5));
    }
}
