package io.lockstep.player;

import io.lockstep.launch.ChildProcess;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's first command, as a user runs it: the demo's jar, a real coordinator, four player JVMs. */
class DemoIT {

    private static final Path ROOT = Path.of(System.getenv().getOrDefault("LOCKSTEP_REPO_ROOT", ".."))
            .toAbsolutePath().normalize();

    private static List<String> runDemo(String... extra) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(ChildProcess.java(), "-cp",
                ROOT.resolve("player/target/lockstep-player.jar").toString(), Demo.class.getName(),
                "--coordinator-jar", ROOT.resolve("coordinator/target/lockstep-coordinator.jar").toString(),
                "--quick"));
        cmd.addAll(List.of(extra));
        Path log = Files.createTempFile("lockstep-demo-it-", ".log");
        try (ChildProcess demo = new ChildProcess("demo", cmd, log, Map.of())) {
            assertTrue(demo.process().waitFor(120, TimeUnit.SECONDS), "the demo finished");
            List<String> lines = demo.allLines();
            assertEquals(0, demo.process().exitValue(), String.join("\n", lines));
            return lines;
        }
    }

    @Test
    void withTheBarrierNobodyIsPaidBeforeEveryoneFinished() throws Exception {
        List<String> out = runDemo();
        String all = String.join("\n", out);
        for (String p : List.of("susan", "pratik", "suman", "nijam")) {
            assertTrue(all.contains("| " + p + " finished playing and is waiting for others."), all);
            assertTrue(all.contains("| sending winning amount to " + p + ": "), all);
            assertTrue(all.contains("| winnings table seen by " + p + ": "), all);
        }
        assertTrue(all.contains("No winnings were sent before the last player finished: the barrier held."), all);
        assertTrue(all.contains("All 4 players computed the same winnings table"), all);
        List<String> times = out.stream().filter(l -> l.matches("\\s+\\+\\d+\\.\\d+ s .*"))
                .map(l -> l.trim().split(" ")[0]).toList();
        for (int i = 1; i < times.size(); i++) {
            assertTrue(Double.parseDouble(times.get(i - 1).substring(1)) <= Double.parseDouble(times.get(i).substring(1)),
                    "lines are shown in the order they happened:\n" + all);
        }
    }

    @Test
    void withoutTheBarrierTheSummarySaysWhoWasPaidEarly() throws Exception {
        String all = String.join("\n", runDemo("--no-barrier"));
        assertTrue(all.contains("WITHOUT the barrier"), all);
        assertTrue(all.contains("while") && all.contains("still playing"), all);
    }

    @Test
    void onAGroupTheLeaderKilledWhileAPlayerWaitsIsReplacedAndEveryoneIsPaidOnce() throws Exception {
        List<String> out = runDemo("--group", "--kill-leader");
        String all = String.join("\n", out);
        int kill = indexOf(out, "| kill -9 of the leader, ");
        assertTrue(kill >= 0, all);
        String killed = out.get(kill).replaceAll(".*kill -9 of the leader, (n\\d+),.*", "$1");
        assertTrue(out.get(kill).matches(".* while .+ (was|were) waiting at the barrier"), all);
        boolean replaced = out.subList(kill, out.size()).stream()
                .anyMatch(l -> l.matches(".*\\| node n\\d+ leads the group.*") && !l.contains("node " + killed + " "));
        assertTrue(replaced, "another node took the lead after the kill:\n" + all);
        for (String p : List.of("susan", "pratik", "suman", "nijam")) {
            assertEquals(1, out.stream().filter(l -> l.contains("| sending winning amount to " + p + ": ")).count(), all);
        }
        assertTrue(all.contains("No winnings were sent before the last player finished: the barrier held."), all);
        assertTrue(all.contains("All 4 players computed the same winnings table"), all);
        assertTrue(all.contains("took the lead") && all.contains("no player's wait broke"), all);
    }

    private static int indexOf(List<String> lines, String part) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(part)) {
                return i;
            }
        }
        return -1;
    }
}
