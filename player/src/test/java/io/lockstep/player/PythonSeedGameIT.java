package io.lockstep.player;

import io.lockstep.launch.ChildProcess;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The seed's program with one line changed ({@code python/examples/seed_game.py}), installed as a user installs the
 * client ({@code pip install ./python}), one player per "machine": five network namespaces, a coordinator on one,
 * each player on its own, reaching it by host name.
 */
class PythonSeedGameIT {

    private static final List<String> PLAYERS = List.of("susan", "pratik", "suman", "nijam");
    private static final String SLOW = "nijam";

    private static String output(ChildProcess p) {
        try {
            return String.join("\n", p.allLines());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static boolean listens(NetnsCluster cluster) {
        try {
            return cluster.exec("coordinator", List.of("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7777"), 5) == 0;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Test
    void theSeedsProgramRunsAcrossMachines() throws Exception {
        NetnsCluster.assumeAvailable();
        Path root = PythonClientIT.ROOT;
        Path work = Files.createTempDirectory("lockstep-python-seed-");
        Path site = work.resolve("site");
        // As a user installs it (pip builds it with setuptools from its index; this machine's is a local one).
        Process pip = new ProcessBuilder(PythonClientIT.python(), "-m", "pip", "install", "-q", "--no-deps",
                "--disable-pip-version-check", "--target", site.toString(),
                root.resolve("python").toString()).redirectErrorStream(true)
                .redirectOutput(work.resolve("pip.log").toFile()).start();
        assertTrue(pip.waitFor(3, TimeUnit.MINUTES), "pip finished");
        assertEquals(0, pip.exitValue(), "pip install ./python:\n" + Files.readString(work.resolve("pip.log")));
        assertTrue(Files.isRegularFile(site.resolve("lockstep/__init__.py")), "pip installed the package");

        List<String> hosts = new ArrayList<>(List.of("coordinator"));
        hosts.addAll(PLAYERS);
        try (NetnsCluster cluster = new NetnsCluster(hosts)) {
            cluster.start("coordinator", List.of(ChildProcess.java(), "-jar",
                    root.resolve("coordinator/target/lockstep-coordinator.jar").toString(), "--no-http"),
                    Map.of(), work.resolve("coordinator.log"));
            Waiting.waitFor(Duration.ofSeconds(30), () -> listens(cluster));
            Map<String, ChildProcess> players = new LinkedHashMap<>();
            for (String p : PLAYERS) {
                // Run from the work directory, so that only the installed package can be imported.
                players.put(p, cluster.start(p, List.of("bash", "-c", "cd " + work + " && exec " + PythonClientIT.python()
                                + " " + root.resolve("python/examples/seed_game.py") + " " + p),
                        Map.of("PYTHONPATH", site.toString(), "LOCKSTEP_COORDINATOR", "coordinator:7777",
                                // nijam plays slowly: nobody may be paid before it has finished
                                "ROUND_SECONDS", p.equals(SLOW) ? "1.5" : "0.2", "PYTHONDONTWRITEBYTECODE", "1"),
                        work.resolve(p + ".log")));
            }
            // Until the slow player has finished, nobody may have been paid.
            ChildProcess slow = players.get(SLOW);
            Waiting.waitFor(Duration.ofMinutes(2), () -> {
                boolean finished = !slow.isAlive() || output(slow).contains("finished playing");
                for (String p : PLAYERS) {
                    assertTrue(finished || !output(players.get(p)).contains("sending winning amount"),
                            p + " was paid while " + SLOW + " was still playing");
                }
                return finished;
            });
            StringBuilder all = new StringBuilder();
            for (Map.Entry<String, ChildProcess> e : players.entrySet()) {
                ChildProcess p = e.getValue();
                assertTrue(p.process().waitFor(2, TimeUnit.MINUTES), e.getKey() + " finished");
                List<String> lines = p.allLines();
                all.append(String.join("\n", lines)).append('\n');
                assertEquals(0, p.process().exitValue(), e.getKey() + ":\n" + String.join("\n", lines));
                assertEquals(List.of(e.getKey() + " started playing.", e.getKey() + " is playing round 1",
                        e.getKey() + " is playing round 2", e.getKey() + " is playing round 3",
                        e.getKey() + " finished playing and is waiting for others.",
                        "sending winning amount to " + e.getKey(),
                        "All winning players have received their winning amount."), lines);
            }
            System.out.println(all);
        }
    }
}
