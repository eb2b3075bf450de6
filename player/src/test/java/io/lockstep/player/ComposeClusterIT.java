package io.lockstep.player;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The docker-compose clusters without Docker: every service of {@code docker-compose.yml} (one coordinator) and of
 * {@code docker-compose.ha.yml} (a group of three) runs on its own "host" (network namespace, own IP address),
 * started with the command and environment the compose file and Dockerfile give it, after the services it depends
 * on pass their health checks (or exited 0). Then, from the players' output across hosts: every
 * {@code finished playing} line comes before any {@code sending winning amount} line — in the group's game, across
 * a kill -9 of the leader mid-game.
 */
class ComposeClusterIT {

    private static final Pattern SESSION_FROM = Pattern.compile("session \\d+ of '(\\S+)' from /([\\d.]+):\\d+");
    private static final Pattern PLAYING = Pattern.compile("is playing round 1$");
    private static final Path ROOT = Path.of(System.getenv().getOrDefault("LOCKSTEP_REPO_ROOT", ".."))
            .toAbsolutePath().normalize();

    @Test
    void theComposeClusterPlaysTheGameInStepAcrossHosts() throws Exception {
        NetnsCluster.assumeAvailable();
        ComposeFile compose = ComposeFile.read(ROOT, "docker-compose.yml");
        try (Services services = new Services(compose, Map.of())) {
            services.startAllButThoseWaitingForOthersToFinish();
            List<String> players = services.players();
            services.checkTheGame(players);

            // And it really crossed hosts: the coordinator saw each player from that player's own address.
            ChildProcess coordinator = services.running.get("coordinator");
            Map<String, String> seenFrom = new LinkedHashMap<>();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (seenFrom.size() < players.size() && System.nanoTime() < end) {
                for (String line : coordinator.allLines()) {
                    Matcher m = SESSION_FROM.matcher(line);
                    if (m.find()) {
                        seenFrom.put(m.group(1), m.group(2));
                    }
                }
                Thread.sleep(50);
            }
            for (String p : players) {
                assertEquals(services.cluster.address(p), seenFrom.get(p), p + " reached the coordinator from its own host");
            }
            services.startTheRestAndCheckGameOver();
        }
    }

    @Test
    void theReplicatedComposeClusterPlaysOnAcrossAKillOfTheLeaderMidGame() throws Exception {
        NetnsCluster.assumeAvailable();
        ComposeFile compose = ComposeFile.read(ROOT, "docker-compose.ha.yml");
        Path data = Files.createTempDirectory("lockstep-cluster-data-");
        Map<String, Map<String, String>> overrides = new LinkedHashMap<>();
        for (String node : List.of("coord1", "coord2", "coord3")) {
            // The volume each container mounts there is a directory of this test's here.
            overrides.put(node, Map.of("LOCKSTEP_DATA_DIR", data.resolve(node).toString()));
        }
        try (Services services = new Services(compose, overrides)) {
            services.startAllButThoseWaitingForOthersToFinish();
            List<String> players = services.players();
            for (String p : players) {
                services.awaitLine(p, PLAYING, 60); // mid-game: everyone is playing, nobody has finished
            }
            String leader = services.leader();
            long killedAt = System.nanoTime();
            services.running.get(leader).process().destroyForcibly(); // docker compose kill, on the leader
            String next = null;
            while (next == null || next.equals(leader)) {
                next = services.leader();
                assertTrue(System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(30), "no new leader in 30 s");
                Thread.sleep(20);
            }
            System.out.printf("compose group: leader %s killed mid-game; %s led after %d ms%n", leader, next,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt));
            services.checkTheGame(players);
            services.startTheRestAndCheckGameOver();
        }
    }

    /** The services of one compose file, run on hosts of their own. */
    private static final class Services implements AutoCloseable {
        final ComposeFile compose;
        final NetnsCluster cluster;
        final Path logs;
        final Map<String, Map<String, String>> overrides;
        final Map<String, ChildProcess> running = new LinkedHashMap<>();
        final Set<String> healthy = new TreeSet<>();
        final List<ComposeFile.Service> pending;

        Services(ComposeFile compose, Map<String, Map<String, String>> overrides) throws Exception {
            this.compose = compose;
            this.overrides = overrides;
            this.logs = Files.createTempDirectory("lockstep-cluster-");
            this.cluster = new NetnsCluster(new ArrayList<>(compose.services().keySet()));
            this.pending = new ArrayList<>(compose.services().values());
        }

        /** Starts, in depends_on order, every service that does not wait for another to exit. */
        void startAllButThoseWaitingForOthersToFinish() throws Exception {
            while (true) {
                ComposeFile.Service next = pending.stream()
                        .filter(s -> healthy.containsAll(s.healthyBefore()) && s.completedBefore().isEmpty())
                        .findFirst().orElse(null);
                if (next == null) {
                    return;
                }
                start(next);
            }
        }

        /** Starts the rest, as compose's service_completed_successfully does: once those they wait for exited 0. */
        void startTheRestAndCheckGameOver() throws Exception {
            for (ComposeFile.Service s : new ArrayList<>(pending)) {
                for (String dep : s.completedBefore()) {
                    ChildProcess d = running.get(dep);
                    if (d == null) {
                        throw new AssertionError(s.name() + " waits for " + dep + ", which never starts");
                    }
                    assertTrue(d.process().waitFor(90, TimeUnit.SECONDS), dep + " did not finish in 90 s");
                    assertEquals(0, d.process().exitValue(), dep + " failed: " + d.allLines());
                }
                start(s);
            }
            // The service that `up --exit-code-from game-over` waits for ran once everyone was paid, and said so.
            ChildProcess gameOver = running.get("game-over");
            assertTrue(gameOver.process().waitFor(10, TimeUnit.SECONDS));
            assertEquals(0, gameOver.process().exitValue());
            assertEquals(List.of("game over: all four players were paid"), gameOver.allLines());
        }

        private void start(ComposeFile.Service s) throws Exception {
            pending.remove(s);
            Map<String, String> env = new LinkedHashMap<>(s.environment());
            env.putAll(overrides.getOrDefault(s.name(), Map.of()));
            running.put(s.name(), cluster.start(s.name(), s.command(), env, logs.resolve(s.name() + ".log")));
            if (!s.healthcheck().isEmpty()) {
                awaitHealthy(s, running.get(s.name()));
            }
            healthy.add(s.name());
        }

        List<String> players() {
            List<String> players = compose.services().values().stream()
                    .filter(s -> s.command().contains("--name")).map(ComposeFile.Service::name).toList();
            assertEquals(4, players.size(), "the compose file has four players");
            return players;
        }

        /** Every player exits 0, nobody was paid before everyone finished, and all saw the same table. */
        void checkTheGame(List<String> players) throws Exception {
            GameReport report = new GameReport(players);
            for (String p : players) {
                ChildProcess proc = running.get(p);
                assertTrue(proc.process().waitFor(90, TimeUnit.SECONDS), p + " did not finish in 90 s");
                assertEquals(0, proc.process().exitValue(), p + " failed: " + proc.allLines());
                for (String line : proc.allLines()) {
                    report.add(GameLine.parse(line, Instant.EPOCH));
                }
            }
            assertTrue(report.everyoneFinishedBeforeAnyoneWasPaid(),
                    "someone was paid before everyone finished:\n" + String.join("\n",
                            report.summary(Instant.EPOCH, true)));
            assertTrue(report.everyoneComputedTheSameTable(), "the players' winnings tables differ:\n"
                    + String.join("\n", report.summary(Instant.EPOCH, true)));
        }

        void awaitLine(String service, Pattern p, int seconds) throws Exception {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (running.get(service).allLines().stream().noneMatch(l -> p.matcher(l).find())) {
                if (System.nanoTime() > end) {
                    fail(service + " printed no line matching " + p + ": " + running.get(service).allLines());
                }
                Thread.sleep(20);
            }
        }

        /** The coordinator of the group that says last, of those alive, that it leads; null if none yet. */
        String leader() throws Exception {
            String leader = null;
            String at = "";
            for (Map.Entry<String, ChildProcess> e : running.entrySet()) {
                if (!e.getKey().startsWith("coord") || !e.getValue().isAlive()) {
                    continue;
                }
                String last = null;
                for (String line : e.getValue().allLines()) {
                    if (line.contains("leads the group") || line.contains("no longer leads")) {
                        last = line;
                    }
                }
                if (last != null && last.contains("leads the group") && last.compareTo(at) > 0) {
                    leader = e.getKey();
                    at = last;
                }
            }
            return leader;
        }

        private void awaitHealthy(ComposeFile.Service s, ChildProcess proc) throws Exception {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < end) {
                if (cluster.exec(s.name(), s.healthcheck(), 5) == 0) {
                    return;
                }
                if (!proc.isAlive()) {
                    fail(s.name() + " exited before it was healthy: " + proc.allLines());
                }
                Thread.sleep(200);
            }
            fail(s.name() + " did not pass its health check in 60 s: " + proc.allLines());
        }

        @Override
        public void close() {
            cluster.close();
        }
    }
}
