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
 * The docker-compose cluster without Docker: every service of {@code docker-compose.yml} runs on its own
 * "host" (network namespace, own IP address), started with the command and environment the compose file and
 * Dockerfile give it, after the services it depends on pass their health checks. Then, from the players'
 * output across hosts: every {@code finished playing} line comes before any {@code sending winning amount} line.
 */
class ComposeClusterIT {

    private static final Pattern SESSION_FROM = Pattern.compile("session \\d+ of '(\\S+)' from /([\\d.]+):\\d+");

    @Test
    void theComposeClusterPlaysTheGameInStepAcrossHosts() throws Exception {
        NetnsCluster.assumeAvailable();
        Path root = Path.of(System.getenv().getOrDefault("LOCKSTEP_REPO_ROOT", "..")).toAbsolutePath().normalize();
        ComposeFile compose = ComposeFile.read(root);
        Path logs = Files.createTempDirectory("lockstep-cluster-");
        try (NetnsCluster cluster = new NetnsCluster(new ArrayList<>(compose.services().keySet()))) {
            Map<String, ChildProcess> running = new LinkedHashMap<>();
            Set<String> healthy = new TreeSet<>();
            List<ComposeFile.Service> pending = new ArrayList<>(compose.services().values());
            while (!pending.isEmpty()) {
                ComposeFile.Service next = pending.stream()
                        .filter(s -> healthy.containsAll(s.healthyBefore()) && s.completedBefore().stream()
                                .allMatch(d -> running.containsKey(d) && completedSuccessfully(running.get(d))))
                        .findFirst().orElse(null);
                if (next == null) {
                    // What is left waits for services to exit 0, as compose's service_completed_successfully does.
                    ComposeFile.Service waiting = pending.stream()
                            .filter(s -> healthy.containsAll(s.healthyBefore())).findFirst()
                            .orElseThrow(() -> new AssertionError("depends_on cannot be satisfied: " + pending));
                    for (String dep : waiting.completedBefore()) {
                        ChildProcess d = running.get(dep);
                        if (d == null) {
                            throw new AssertionError(waiting.name() + " waits for " + dep + ", which never starts");
                        }
                        assertTrue(d.process().waitFor(90, TimeUnit.SECONDS), dep + " did not finish in 90 s");
                        assertEquals(0, d.process().exitValue(), dep + " failed: " + d.allLines());
                    }
                    continue;
                }
                pending.remove(next);
                running.put(next.name(), cluster.start(next.name(), next.command(), next.environment(),
                        logs.resolve(next.name() + ".log")));
                if (!next.healthcheck().isEmpty()) {
                    awaitHealthy(cluster, next, running.get(next.name()));
                }
                healthy.add(next.name());
            }

            List<String> players = compose.services().values().stream()
                    .filter(s -> s.command().contains("--name")).map(ComposeFile.Service::name).toList();
            assertEquals(4, players.size(), "the compose file has four players");
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

            // And it really crossed hosts: the coordinator saw each player from that player's own address.
            ChildProcess coordinator = running.get("coordinator");
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
                assertEquals(cluster.address(p), seenFrom.get(p), p + " reached the coordinator from its own host");
            }
            // The service that `up --exit-code-from game-over` waits for ran once everyone was paid, and said so.
            ChildProcess gameOver = running.get("game-over");
            assertTrue(gameOver.process().waitFor(10, TimeUnit.SECONDS));
            assertEquals(0, gameOver.process().exitValue());
            assertEquals(List.of("game over: all four players were paid"), gameOver.allLines());
        }
    }

    private static boolean completedSuccessfully(ChildProcess p) {
        return !p.isAlive() && p.process().exitValue() == 0;
    }

    private static void awaitHealthy(NetnsCluster cluster, ComposeFile.Service s, ChildProcess proc)
            throws Exception {
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
}
