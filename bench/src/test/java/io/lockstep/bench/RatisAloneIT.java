package io.lockstep.bench;

import io.lockstep.launch.LocalGroup;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ratis alone (RatisAlone) runs end to end on three processes, small, and its leader's line parses. No timings. */
class RatisAloneIT {

    private static final Path ROOT = Path.of(System.getenv().getOrDefault("LOCKSTEP_REPO_ROOT", ".."))
            .toAbsolutePath().normalize();
    private static final Pattern LINE = Pattern.compile(
            "^ratis-alone log=disk commits=(\\d+) commits_per_s=([\\d.]+) p50_us=(\\d+) p99_us=(\\d+)$");

    @Test
    void theLeaderCommitsEveryEntryAndSaysHowFast() throws Exception {
        // A leader that loses leadership mid-run (a disk stall longer than the election timeout) voids it: once more.
        String line = run();
        if (line == null) {
            line = run();
        }
        Matcher m = LINE.matcher(String.valueOf(line));
        assertTrue(m.matches(), "the leader printed: " + line);
        assertEquals("300", m.group(1));
        assertTrue(Double.parseDouble(m.group(2)) > 0);
        assertTrue(Long.parseLong(m.group(3)) <= Long.parseLong(m.group(4)), "p50 <= p99: " + line);
    }

    /** The leader's line, or null if its run was void. */
    private static String run() throws Exception {
        Path dir = Files.createTempDirectory("lockstep-ratis-alone-it-");
        int[] ports = LocalGroup.freePorts(3);
        List<String> peers = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            peers.add("n" + i + "=127.0.0.1:" + ports[i - 1]);
        }
        String classpath = ROOT.resolve("coordinator/target/lockstep-coordinator.jar") + File.pathSeparator
                + ROOT.resolve("bench/target/lockstep-bench.jar");
        List<Process> nodes = new ArrayList<>();
        List<Path> outs = new ArrayList<>();
        try {
            for (int i = 1; i <= 3; i++) {
                Path out = dir.resolve("n" + i + ".out");
                outs.add(out);
                nodes.add(new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
                        classpath, "io.lockstep.bench.RatisAlone", "n" + i, String.join(",", peers),
                        dir.toString(), "disk", "300", "100", "0")
                        .redirectOutput(out.toFile()).redirectError(dir.resolve("n" + i + ".err").toFile()).start());
            }
            // One node leads, commits 400 entries one at a time, prints its line and exits 0.
            Process leader = await().atMost(120, TimeUnit.SECONDS).until(
                    () -> nodes.stream().filter(p -> !p.isAlive()).findFirst(), Optional::isPresent).get();
            int n = nodes.indexOf(leader) + 1;
            if (leader.exitValue() == RatisAlone.VOID) {
                return null;
            }
            assertEquals(0, leader.exitValue(),
                    "n" + n + "'s stderr: " + Files.readString(dir.resolve("n" + n + ".err")));
            return Files.readString(outs.get(n - 1)).strip();
        } finally {
            for (Process p : nodes) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            LocalGroup.deleteTree(dir);
        }
    }
}
