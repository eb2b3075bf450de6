package io.lockstep.player;

import io.lockstep.launch.ChildProcess;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Python client's own test suite ({@code python/tests}, pytest), run by the README's one test command against
 * the coordinator and player jars this build made: CPython's Barrier behaviours with threads and processes (fork
 * and spawn), CPython's own Barrier suites unchanged, sessions, TLS and the shared secret, the seed's program and a
 * mixed Java/Python game; and pyflakes over the client's sources and tests.
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

    /**
     * pyflakes over {@code python/}: unused imports and variables, undefined names, redefinitions (a second
     * definition of a method hides the first). Found as {@code python3 -m pyflakes}, else Debian's {@code pyflakes3}
     * (which {@code .ci/run} installs); skipped without either, unless {@link NetnsCluster#REQUIRE} is set.
     */
    @Test
    void thePythonSourcesPassPyflakes() throws Exception {
        List<String> pyflakes = null;
        if (new ProcessBuilder(python(), "-c", "import pyflakes").start().waitFor() == 0) {
            pyflakes = List.of(python(), "-m", "pyflakes");
        } else if (NetnsCluster.installed("pyflakes3")) {
            pyflakes = List.of("pyflakes3");
        }
        if (pyflakes == null) {
            String why = "pyflakes is not installed (neither " + python() + " -m pyflakes nor pyflakes3)";
            if (System.getenv(NetnsCluster.REQUIRE) != null) {
                fail(why + ", and " + NetnsCluster.REQUIRE + " is set");
            }
            Assumptions.abort(why + "; set " + NetnsCluster.REQUIRE + "=1 to make this a failure");
        }
        List<String> cmd = new java.util.ArrayList<>(pyflakes);
        cmd.add(ROOT.resolve("python").toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "pyflakes finished");
        assertEquals(0, p.exitValue(), "pyflakes found nothing in python/:\n" + out);
    }
}
