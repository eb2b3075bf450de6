package io.lockstep.player;

import io.lockstep.launch.ChildProcess;

import io.lockstep.client.DistributedBarrier;
import io.lockstep.client.LockstepClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.lockstep.player.Waiting.holdFor;
import static io.lockstep.player.Waiting.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Failures between hosts (network namespaces): a party killed, a link cut silently (iptables DROP in the party's
 * namespace: no FIN, no RST, as in a real partition) for half and for twice the session lease, latency and packet
 * loss on every path, and the coordinator stopped. Each test bounds its own time and removes its namespaces.
 */
class FailureClusterIT {

    private static final Path ROOT = Path.of(System.getenv().getOrDefault("LOCKSTEP_REPO_ROOT", ".."))
            .toAbsolutePath().normalize();
    private static final int LEASE_MS = 3_000;
    /** The coordinator's default: how long a session whose connection its client's side closed has to come back. */
    private static final int GRACE_MS = 1_000;
    private static final Pattern LISTENING = Pattern.compile("listening on \\S+:(\\d+)");
    private static final Pattern ROUND = Pattern.compile("^round (\\d+) index (\\d+)$");

    private Path logs;

    @BeforeEach
    void setUp() throws Exception {
        NetnsCluster.assumeAvailable("iptables", "openssl"); // links are cut with iptables; the group's peers use TLS
        logs = Files.createTempDirectory("lockstep-failures-");
    }

    private ChildProcess coordinator(NetnsCluster net) throws Exception {
        ChildProcess c = net.start("coord", List.of(ChildProcess.java(), "-jar",
                ROOT.resolve("coordinator/target/lockstep-coordinator.jar").toString(), "--port", "7777",
                "--bind", "0.0.0.0", "--min-lease", "200"), Map.of(), logs.resolve("coord.log"));
        line(c, LISTENING, 30);
        return c;
    }

    private ChildProcess party(NetnsCluster net, String host, String coordinator, String barrier, int parties,
                               int rounds, String... mode) throws Exception {
        return party(net, host, coordinator, barrier, parties, rounds, LEASE_MS, mode);
    }

    private ChildProcess party(NetnsCluster net, String host, String coordinator, String barrier, int parties,
                               int rounds, int leaseMillis, String... mode) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ChildProcess.java(), "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                PartyProcess.class.getName(), coordinator, host, barrier, "" + parties, "" + rounds, "" + leaseMillis));
        cmd.addAll(List.of(mode));
        return net.start(host, cmd, Map.of(), logs.resolve(host + ".log"));
    }

    /** The first line of {@code p}'s output matching {@code pattern}, waiting up to {@code seconds}. */
    private static Matcher line(ChildProcess p, Pattern pattern, int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            List<String> lines = p.allLines();
            for (String l : lines) {
                Matcher m = pattern.matcher(l);
                if (m.find()) {
                    return m;
                }
            }
            if (System.nanoTime() > end) {
                fail(p.label() + ": no line matching " + pattern + " within " + seconds + " s; output: " + lines);
            }
            Thread.sleep(20);
        }
    }


    private LockstepClient observer;

    /** A client in the test JVM (on the bridge) that watches and resets barriers; closed after the test. */
    private LockstepClient observer(NetnsCluster net) throws Exception {
        observer = LockstepClient.builder().address(net.address("coord"), 7777).clientName("observer").connect();
        return observer;
    }

    @AfterEach
    void closeObserver() {
        if (observer != null) {
            observer.close();
        }
    }

    /** GET {@code url}: the status code, a space and the body; "" if it cannot be reached. */
    private static String get(String url) {
        try {
            java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            return r.statusCode() + " " + r.body();
        } catch (java.io.IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    private static void cutLink(NetnsCluster net, String host) throws Exception {
        net.must(host, "iptables", "-A", "INPUT", "-j", "DROP");
        net.must(host, "iptables", "-A", "OUTPUT", "-j", "DROP");
    }

    private static void restoreLink(NetnsCluster net, String host) throws Exception {
        net.must(host, "iptables", "-F");
    }


    @Test
    void killingAWaitingPartyBreaksTheBarrierForEveryoneElseNamingItWithinTheReconnectGracePlusOneSecond()
            throws Exception {
        try (NetnsCluster net = new NetnsCluster(List.of("coord", "p1", "p2", "p3"))) {
            coordinator(net);
            LockstepClient watch = observer(net);
            String at = net.address("coord") + ":7777";
            List<ChildProcess> alive = List.of(party(net, "p1", at, "kill", 4, 1), party(net, "p2", at, "kill", 4, 1));
            ChildProcess doomed = party(net, "p3", at, "kill", 4, 1);
            DistributedBarrier b = watch.barrier("kill", 4);
            waitFor(Duration.ofSeconds(30), () -> b.getNumberWaiting() == 3);
            long killedAt = System.nanoTime();
            doomed.process().destroyForcibly(); // SIGKILL
            for (ChildProcess p : alive) {
                Matcher m = line(p, Pattern.compile("^broken: (.*)"), GRACE_MS / 1000 + 1 + 1);
                assertTrue(m.group(1).contains("party 'p3' was lost: its connection was closed and it did not come "
                        + "back within 1.0 s"), m.group(1));
            }
            long tookMillis = (System.nanoTime() - killedAt) / 1_000_000;
            System.out.printf("kill -9 of a waiting party: the others knew after %d ms (reconnect grace %d ms, lease "
                    + "%d ms)%n", tookMillis, GRACE_MS, LEASE_MS);
            assertTrue(tookMillis <= GRACE_MS + 1_000, "took " + tookMillis + " ms");
        }
    }

    @Test
    void aGroupLeaderCutOffItsNetworkIsReplacedAndEveryPartyPassesExactlyOnce() throws Exception {
        try (NetnsCluster net = new NetnsCluster(List.of("c1", "c2", "c3", "p1", "p2", "p3"))) {
            List<String> peers = new ArrayList<>();
            List<String> nodes = new ArrayList<>();
            for (String c : List.of("c1", "c2", "c3")) {
                peers.add("n" + c.charAt(1) + "=" + net.address(c) + ":7790");
                nodes.add(net.address(c) + ":7777");
            }
            // The nodes are on separate hosts: their Raft traffic is mutual TLS, as a node requires off loopback.
            Path certs = logs.resolve("certs");
            Map<String, String> hosts = new java.util.LinkedHashMap<>();
            for (String c : List.of("c1", "c2", "c3")) {
                hosts.put("n" + c.charAt(1), net.address(c));
            }
            PeerCerts.make(ROOT, certs, hosts);
            Map<String, ChildProcess> coords = new java.util.LinkedHashMap<>();
            for (String c : List.of("c1", "c2", "c3")) {
                List<String> cmd = new ArrayList<>(List.of(ChildProcess.java(), "-XX:TieredStopAtLevel=1",
                        "-XX:+UseSerialGC", "-jar", ROOT.resolve("coordinator/target/lockstep-coordinator.jar").toString(),
                        "--port", "7777", "--bind", "0.0.0.0", "--http-port", "7778", "--min-lease", "200", "--node-id",
                        "n" + c.charAt(1), "--peers", String.join(",", peers), "--data-dir",
                        logs.resolve("data-" + c).toString()));
                cmd.addAll(PeerCerts.options(certs, "n" + c.charAt(1)));
                coords.put(c, net.start(c, cmd, Map.of(), logs.resolve(c + ".log")));
            }
            for (ChildProcess c : coords.values()) {
                line(c, LISTENING, 60);
            }
            String group = String.join(",", nodes);
            int lease = 10_000; // the default: its heartbeat (2 s) finds the silence in 6-8 s, well inside the lease
            ChildProcess p1 = party(net, "p1", group, "split", 3, 1, lease);
            ChildProcess p2 = party(net, "p2", group, "split", 3, 1, lease);
            observer = LockstepClient.builder().address(group).clientName("observer")
                    .sessionLease(Duration.ofMillis(lease)).connect();
            waitFor(Duration.ofSeconds(60), () -> {
                try {
                    return observer.status("split").waiting().size() == 2;
                } catch (RuntimeException notYet) {
                    return false;
                }
            });
            String leader = null;
            for (Map.Entry<String, ChildProcess> c : coords.entrySet()) {
                if (c.getValue().allLines().stream().anyMatch(l -> l.contains("leads the group"))) {
                    leader = c.getKey();
                }
            }
            assertTrue(leader != null, "a leader");
            long cutAt = System.nanoTime();
            // The leader, with its clients' connections to it, is cut off; its HTTP port stays open, for the probes.
            net.must(leader, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "7778", "-j", "ACCEPT");
            net.must(leader, "iptables", "-A", "OUTPUT", "-p", "tcp", "--sport", "7778", "-j", "ACCEPT");
            cutLink(net, leader);
            String cutOff = "http://" + net.address(leader) + ":7778/readyz";
            waitFor(Duration.ofSeconds(30), () -> get(cutOff).startsWith("503 not ready: "));
            System.out.println("the cut-off node's /readyz: " + get(cutOff).strip());
            assertEquals("200 ok", get("http://" + net.address(leader) + ":7778/livez").strip(), "it still lives");
            waitFor(Duration.ofSeconds(30), () -> {
                try {
                    return observer.status("split").waiting().size() == 2;
                } catch (RuntimeException notYet) {
                    return false;
                }
            });
            // A cut is noticed by silence: after three heartbeats (3/4 of the lease), then the client finds the leader.
            System.out.printf("group leader %s cut off its network: the waiting parties were back on a new leader "
                    + "after %d ms (their lease %d ms)%n", leader, (System.nanoTime() - cutAt) / 1_000_000, lease);
            ChildProcess p3 = party(net, "p3", group, "split", 3, 1, lease);
            Set<String> indices = new HashSet<>();
            for (ChildProcess p : List.of(p1, p2, p3)) {
                indices.add(line(p, ROUND, 60).group(2));
                assertTrue(p.process().waitFor(30, TimeUnit.SECONDS));
                assertEquals(0, p.process().exitValue(), p.label() + ": " + p.allLines());
                assertEquals(1, p.allLines().stream().filter(l -> ROUND.matcher(l).matches()).count(),
                        p.label() + " passed exactly once: " + p.allLines());
            }
            assertEquals(Set.of("0", "1", "2"), indices);
            long readyNodes = coords.keySet().stream().filter(c -> get("http://" + net.address(c) + ":7778/readyz")
                    .startsWith("200")).count();
            assertEquals(2, readyNodes, "the new leader and its follower are ready, the cut-off node is not");
            restoreLink(net, leader);
        }
    }

    @Test
    void aLinkCutForHalfTheLeaseLosesNothingAndEveryPartyPassesExactlyOnce() throws Exception {
        try (NetnsCluster net = new NetnsCluster(List.of("coord", "p1", "p2", "p3"))) {
            coordinator(net);
            LockstepClient watch = observer(net);
            String at = net.address("coord") + ":7777";
            ChildProcess p1 = party(net, "p1", at, "half", 3, 1);
            ChildProcess p2 = party(net, "p2", at, "half", 3, 1);
            DistributedBarrier b = watch.barrier("half", 3);
            waitFor(Duration.ofSeconds(30), () -> b.getNumberWaiting() == 2);
            cutLink(net, "p2");
            ChildProcess p3 = party(net, "p3", at, "half", 3, 1); // completes the round while p2 is cut off
            line(p3, ROUND, 30);
            holdFor(Duration.ofMillis(LEASE_MS / 2));
            restoreLink(net, "p2");
            Set<String> indices = new HashSet<>();
            for (ChildProcess p : List.of(p1, p2, p3)) {
                indices.add(line(p, ROUND, 20).group(2));
                assertTrue(p.process().waitFor(20, TimeUnit.SECONDS));
                assertEquals(0, p.process().exitValue(), p.label() + ": " + p.allLines());
                assertEquals(1, p.allLines().stream().filter(l -> ROUND.matcher(l).matches()).count(),
                        p.label() + " passed exactly once");
            }
            assertEquals(Set.of("0", "1", "2"), indices);
        }
    }

    @Test
    void aLinkCutForTwiceTheLeaseBreaksTheBarrierNamingThePartyWhichLearnsOnReturnAndRejoins() throws Exception {
        try (NetnsCluster net = new NetnsCluster(List.of("coord", "p1", "p2", "p3"))) {
            coordinator(net);
            LockstepClient watch = observer(net);
            String at = net.address("coord") + ":7777";
            ChildProcess p1 = party(net, "p1", at, "twice", 3, 1, "rejoin");
            ChildProcess p2 = party(net, "p2", at, "twice", 3, 1, "rejoin");
            DistributedBarrier b = watch.barrier("twice", 3);
            waitFor(Duration.ofSeconds(30), () -> b.getNumberWaiting() == 2);
            long cutAt = System.nanoTime();
            cutLink(net, "p2");
            Matcher broken = line(p1, Pattern.compile("^broken: (.*)"), LEASE_MS / 1000 + 2 + 1);
            assertTrue(broken.group(1).contains("party 'p2' was lost: silent for"), broken.group(1));
            long brokeAfter = (System.nanoTime() - cutAt) / 1_000_000;
            System.out.printf("link cut past the lease: the others knew after %d ms (lease %d ms)%n", brokeAfter,
                    LEASE_MS);
            assertTrue(brokeAfter <= LEASE_MS + 2_000, "broken after " + brokeAfter + " ms");
            holdFor(Duration.ofMillis(Math.max(0, 2L * LEASE_MS - brokeAfter)));
            restoreLink(net, "p2");
            Matcher lost = line(p2, Pattern.compile("^lost: (.*)"), 10);
            assertTrue(lost.group(1).contains("session") && lost.group(1).contains("lost"), lost.group(1));
            // p2 is back in a new session; after a reset, the next round includes it.
            b.reset();
            ChildProcess p3 = party(net, "p3", at, "twice", 3, 1);
            Set<String> indices = new HashSet<>();
            for (ChildProcess p : List.of(p1, p2, p3)) {
                indices.add(line(p, ROUND, 30).group(2));
                assertTrue(p.process().waitFor(20, TimeUnit.SECONDS));
                assertEquals(0, p.process().exitValue(), p.label() + ": " + p.allLines());
            }
            assertEquals(Set.of("0", "1", "2"), indices);
        }
    }

    @Test
    void aHundredRoundsOfFivePartiesCompleteWithLatencyAndPacketLossOnEveryPath() throws Exception {
        List<String> hosts = List.of("coord", "p1", "p2", "p3", "p4", "p5");
        try (NetnsCluster net = new NetnsCluster(hosts);
             ChaosProxy slow = new ChaosProxy(InetAddress.getByName(NetnsCluster.bridgeAddress()),
                     new InetSocketAddress(net.address("coord"), 7777))) {
            coordinator(net);
            slow.latency(50, 20);
            for (String h : hosts) { // 1 % of packets into every host are dropped
                net.must(h, "iptables", "-A", "INPUT", "-m", "statistic", "--mode", "random", "--probability",
                        "0.01", "-j", "DROP");
            }
            String at = NetnsCluster.bridgeAddress() + ":" + slow.port();
            int rounds = 100;
            long start = System.nanoTime();
            List<ChildProcess> ps = new ArrayList<>();
            for (String h : hosts.subList(1, hosts.size())) {
                ps.add(party(net, h, at, "lossy", 5, rounds));
            }
            List<Set<String>> byRound = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                byRound.add(new HashSet<>());
            }
            for (ChildProcess p : ps) {
                assertTrue(p.process().waitFor(150, TimeUnit.SECONDS), p.label() + " did not finish");
                assertEquals(0, p.process().exitValue(), p.label() + ": " + p.allLines());
                List<String> lines = p.allLines().stream().filter(l -> ROUND.matcher(l).matches()).toList();
                assertEquals(rounds, lines.size(), p.label() + " passed every round exactly once");
                for (String l : lines) {
                    Matcher m = ROUND.matcher(l);
                    assertTrue(m.matches());
                    assertTrue(byRound.get(Integer.parseInt(m.group(1)) - 1).add(m.group(2)),
                            "two parties got the same index in round " + m.group(1));
                }
            }
            for (Set<String> round : byRound) {
                assertEquals(Set.of("0", "1", "2", "3", "4"), round);
            }
            System.out.printf("%d rounds of 5 parties with 50 +- 20 ms latency and 1 %% loss: %.1f s%n", rounds,
                    (System.nanoTime() - start) / 1e9);
        }
    }

    @Test
    void stoppingTheCoordinatorTellsEveryWaitingPartyWhyWithinFiveSeconds() throws Exception {
        try (NetnsCluster net = new NetnsCluster(List.of("coord", "p1", "p2", "p3"))) {
            ChildProcess coordinator = coordinator(net);
            LockstepClient watch = observer(net);
            String at = net.address("coord") + ":7777";
            List<ChildProcess> ps = new ArrayList<>();
            for (String h : List.of("p1", "p2", "p3")) {
                ps.add(party(net, h, at, "stop", 4, 1));
            }
            DistributedBarrier b = watch.barrier("stop", 4);
            waitFor(Duration.ofSeconds(30), () -> b.getNumberWaiting() == 3);
            coordinator.process().destroy(); // SIGTERM
            for (ChildProcess p : ps) {
                Matcher m = line(p, Pattern.compile("^broken: (.*)"), 5);
                assertTrue(m.group(1).contains("coordinator shutting down"), m.group(1));
            }
            assertTrue(coordinator.process().waitFor(5, TimeUnit.SECONDS));
            assertEquals(0, coordinator.process().exitValue());
        }
    }
}
