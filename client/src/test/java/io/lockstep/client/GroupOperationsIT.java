package io.lockstep.client;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an operator does to a group through Lockstep's own admin path (the client port): hand the lead over, back the
 * state up, and start a new group from the backup — and what is refused, in a line.
 */
class GroupOperationsIT {

    @Test
    void theLeadIsHandedToTheNodeAskedForAndRefusedForOneThatIsNoMember() throws Exception {
        try (CoordinatorGroup group = new CoordinatorGroup(3);
             LockstepClient a = LockstepClient.builder().address(group.addresses()).clientName("a").connect();
             LockstepClient b = LockstepClient.builder().address(group.addresses()).clientName("b").connect()) {
            int leader = group.leader(30);
            int to = (leader + 1) % 3;
            DistributedBarrier ba = a.barrier("handed", 2);
            DistributedBarrier bb = b.barrier("handed", 2);
            CompletableFuture<Integer> waiting = CompletableFuture.supplyAsync(() -> pass(ba));
            await().atMost(Duration.ofSeconds(30)).until(() -> b.status("handed").waiting().size() == 1);

            LockstepException notMember = assertThrows(LockstepException.class, () -> a.transferLeadership("n9"));
            assertEquals("refused: n9 is not a member of the group (n1, n2, n3)", notMember.getMessage());

            System.out.println("transfer: " + RollingRestartIT.transferLeadership(group, to));
            assertEquals(to, group.leader(30), "the node asked for leads");
            int index = pass(bb); // the wait that was on the old leader completes on the new one, once
            assertEquals(1, index + waiting.get(30, TimeUnit.SECONDS));
            assertEquals("n" + (to + 1), a.group().orElseThrow().leader());
        }
    }

    @Test
    void aBackupStartsANewGroupWithTheBarriersAndDeclarationsAndABadOneIsRefusedInALine() throws Exception {
        Path dir = Files.createTempDirectory("lockstep-backup-");
        Path backup = dir.resolve("group.snapshot");
        try (CoordinatorGroup group = new CoordinatorGroup(3);
             LockstepClient a = LockstepClient.builder().address(group.addresses()).clientName("a").connect();
             LockstepClient b = LockstepClient.builder().address(group.addresses()).clientName("b").connect()) {
            DistributedBarrier game = a.barrier("game", 3);
            b.barrier("pair", 2);
            DistributedBarrier pair = a.barrier("pair", 2);
            for (int round = 0; round < 20; round++) { // under load: rounds pass while the backup is taken
                CompletableFuture<Integer> other = CompletableFuture.supplyAsync(() -> pass(pair));
                DistributedBarrier bp = b.barrier("pair", 2);
                pass(bp);
                other.get(30, TimeUnit.SECONDS);
                if (round == 10) {
                    Files.write(backup, a.snapshot());
                }
            }
            assertTrue(Files.size(backup) > 0);
            assertEquals(Map.of("game", 3, "pair", 2), partiesByName(a.barriers()));
            assertFalse(game.isBroken());
        }
        // A new group from the file: every node from the same file, on empty data directories.
        try (CoordinatorGroup restored = new CoordinatorGroup(3, "--restore", backup.toString());
             LockstepClient c = LockstepClient.builder().address(restored.addresses()).clientName("c").connect()) {
            restored.leader(30);
            assertEquals(Map.of("game", 3, "pair", 2), partiesByName(c.barriers()), "the barriers are back");
            assertTrue(restored.log(0).stream().anyMatch(l -> l.contains("started from the restored state")));
        }
        // A corrupted backup, and a data directory that holds a node's state already: one line each, exit 2.
        byte[] bytes = Files.readAllBytes(backup);
        for (int i = 8; i < Math.min(bytes.length, 40); i++) {
            bytes[i] = (byte) 0xff;
        }
        Path bad = dir.resolve("bad.snapshot");
        Files.write(bad, bytes);
        List<String> refused = startOneNode(dir.resolve("fresh"), bad);
        assertEquals(1, refused.size(), "one line: " + refused);
        assertTrue(refused.get(0).startsWith("lockstep-coordinator: --restore: " + bad + " is not a Lockstep "
                + "snapshot ("), refused.get(0));
        Path used = Files.createDirectories(dir.resolve("used"));
        Files.writeString(used.resolve("something"), "x");
        List<String> notEmpty = startOneNode(used, backup);
        assertEquals(List.of("lockstep-coordinator: --restore: the data directory " + used + " already holds a node's "
                + "state; a restore starts a new group: give every node an empty --data-dir"), notEmpty);
        io.lockstep.launch.LocalGroup.deleteTree(dir);
    }

    /** Runs a node of a one-node group with {@code --restore file}; returns what it said, expecting exit 2. */
    private static List<String> startOneNode(Path dataDir, Path file) throws Exception {
        Proc p = new Proc(List.of(Proc.java(), "-jar", CoordinatorGroup.JAR.getPath(), "--bind", "127.0.0.1",
                "--port", "0", "--no-http", "--node-id", "n1", "--peers", "n1=127.0.0.1:1,n2=127.0.0.1:2,n3=127.0.0.1:3", "--data-dir",
                dataDir.toString(), "--restore", file.toString()));
        assertTrue(p.process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.process.exitValue(), String.join("\n", p.lines()));
        return p.lines();
    }

    private static Map<String, Integer> partiesByName(List<BarrierStatus> barriers) {
        return barriers.stream().collect(Collectors.toMap(BarrierStatus::name, BarrierStatus::parties));
    }

    private static int pass(DistributedBarrier b) {
        try {
            return b.await(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
