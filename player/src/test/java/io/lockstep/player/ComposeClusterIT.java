package io.lockstep.player;

import io.lockstep.launch.ChildProcess;

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
        try (Services services = new Services(compose)) {
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
        NetnsCluster.assumeAvailable("openssl"); // its peer-certs service runs bin/peer-certs
        ComposeFile compose = ComposeFile.read(ROOT, "docker-compose.ha.yml");
        try (Services services = new Services(compose)) {
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
        /** Each named volume: a directory of this test's, where every service that mounts it finds it. */
        final Map<String, Path> volumes = new LinkedHashMap<>();
        final Map<String, ChildProcess> running = new LinkedHashMap<>();
        final Set<String> healthy = new TreeSet<>();
        final List<ComposeFile.Service> pending;

        Services(ComposeFile compose) throws Exception {
            this.compose = compose;
            this.logs = Files.createTempDirectory("lockstep-cluster-");
            this.cluster = new NetnsCluster(new ArrayList<>(compose.services().keySet()));
            this.pending = new ArrayList<>(compose.services().values());
        }

        /**
         * Starts, in depends_on order, every service that does not wait for another to exit, and those that wait only
         * for services that wait for nothing (init jobs, such as the one that makes the certificates), once those have
         * exited 0.
         */
        void startAllButThoseWaitingForOthersToFinish() throws Exception {
            while (true) {
                ComposeFile.Service next = pending.stream()
                        .filter(s -> healthy.containsAll(s.healthyBefore()) && s.completedBefore().stream()
                                .allMatch(dep -> compose.services().get(dep).waitsForNothing()))
                        .findFirst().orElse(null);
                if (next == null) {
                    return;
                }
                for (String dep : next.completedBefore()) {
                    completed(dep);
                }
                start(next);
            }
        }

        /** Waits until {@code service}, started already, has exited 0. */
        private void completed(String service) throws Exception {
            ChildProcess d = running.get(service);
            if (d == null) {
                throw new AssertionError(service + " is waited for, and never starts");
            }
            assertTrue(d.process().waitFor(90, TimeUnit.SECONDS), service + " did not finish in 90 s");
            assertEquals(0, d.process().exitValue(), service + " failed: " + d.allLines());
        }

        /** Starts the rest, as compose's service_completed_successfully does: once those they wait for exited 0. */
        void startTheRestAndCheckGameOver() throws Exception {
            for (ComposeFile.Service s : new ArrayList<>(pending)) {
                for (String dep : s.completedBefore()) {
                    completed(dep);
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
            // A path inside a volume the service mounts is that path in the volume's directory here.
            Map<String, Path> mounts = new LinkedHashMap<>();
            for (Map.Entry<String, String> v : s.volumes().entrySet()) {
                Path dir = volumes.computeIfAbsent(v.getKey(), name -> logs.resolve("volume-" + name));
                Files.createDirectories(dir);
                mounts.put(v.getValue(), dir);
            }
            List<String> command = s.command().stream().map(a -> inVolume(a, mounts)).toList();
            Map<String, String> env = new LinkedHashMap<>();
            s.environment().forEach((k, v) -> env.put(k, inVolume(v, mounts)));
            running.put(s.name(), cluster.start(s.name(), command, env, logs.resolve(s.name() + ".log")));
            if (!s.healthcheck().isEmpty()) {
                awaitHealthy(s, running.get(s.name()));
            }
            healthy.add(s.name());
        }

        private static String inVolume(String value, Map<String, Path> mounts) {
            for (Map.Entry<String, Path> m : mounts.entrySet()) {
                if (value.equals(m.getKey()) || value.startsWith(m.getKey() + "/")) {
                    return m.getValue() + value.substring(m.getKey().length());
                }
            }
            return value;
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
