package io.lockstep.player;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Python client's own test suite ({@code python/tests}, pytest), run by the README's one test command against
 * the coordinator and player jars this build made: CPython's Barrier behaviours with threads and processes (fork
 * and spawn), sessions, TLS and the shared secret, the seed's program and a mixed Java/Python game.
 */
class PythonClientIT {

    static final Path ROOT = Path.of(System.getenv().getOrDefault("LOCKSTEP_REPO_ROOT", ".."))
            .toAbsolutePath().normalize();

    static String python() {
        return System.getenv().getOrDefault("LOCKSTEP_PYTHON", "python3");
    }

    @Test
    void thePythonClientsTestsPass() throws Exception {
        Path log = Files.createTempFile("lockstep-pytest-", ".log");
        List<String> cmd = List.of(python(), "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider",
                ROOT.resolve("python/tests").toString());
        Map<String, String> env = Map.of(
                "LOCKSTEP_COORDINATOR_JAR", ROOT.resolve("coordinator/target/lockstep-coordinator.jar").toString(),
                "LOCKSTEP_PLAYER_JAR", ROOT.resolve("player/target/lockstep-player.jar").toString(),
                "JAVA", ChildProcess.java(),
                "PYTHONDONTWRITEBYTECODE", "1");
        try (ChildProcess pytest = new ChildProcess("pytest", cmd, log, env)) {
            boolean finished = pytest.process().waitFor(8, TimeUnit.MINUTES);
            List<String> lines = pytest.allLines();
            String all = String.join("\n", lines);
            System.out.println(all);
            assertTrue(finished, "pytest finished within 8 minutes:\n" + all);
            assertEquals(0, pytest.process().exitValue(), "pytest passed:\n" + all);
            String summary = lines.isEmpty() ? "" : lines.get(lines.size() - 1);
            assertTrue(summary.matches(".*\\d+ passed.*"), summary);
            assertFalse(summary.contains("skipped") || summary.contains("failed") || summary.contains("error"),
                    "nothing skipped or failed: " + summary);
        }
    }
}
