package io.lockstep.bench;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark runs end to end, small, and its last line parses. Timings are never asserted. */
class BenchIT {

    private static final Path ROOT = Path.of(System.getenv().getOrDefault("LOCKSTEP_REPO_ROOT", ".."))
            .toAbsolutePath().normalize();
    private static final Pattern LAST = Pattern.compile("^lockstep-bench parties=(\\d+) procs=(\\d+) barriers=(\\d+) "
            + "rounds=(\\d+) wall_s=([\\d.]+) rounds_per_s=([\\d.]+) p50_us=(\\d+) p99_us=(\\d+) max_us=(\\d+) "
            + "client_cpu_us=([\\d.]+) coordinator_cpu_us=([\\d.]+)$");

    @Test
    void aSmallRunCompletesAndEndsWithTheSummaryLine() throws Exception {
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar",
                ROOT.resolve("bench/target/lockstep-bench.jar").toString(), "--parties", "4", "--rounds", "300",
                "--processes", "2", "--warmup", "100").redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        List<String> lines = out.lines().toList();
        Matcher m = LAST.matcher(lines.get(lines.size() - 1));
        assertTrue(m.matches(), "last line: " + lines.get(lines.size() - 1));
        assertEquals("4", m.group(1));
        assertEquals("300", m.group(4));
        assertTrue(Double.parseDouble(m.group(6)) > 0);
        assertTrue(Double.parseDouble(m.group(10)) > 0, "client CPU per round");
        assertTrue(Double.parseDouble(m.group(11)) > 0, "coordinator CPU per round");
        assertTrue(out.contains("coordinator: "), out);
    }
}
