package io.lockstep.client;

import io.lockstep.launch.LocalGroup;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Replacing a node whose machine is gone for good, as an operator does it through Lockstep's admin path: kill -9 a
 * follower for good, {@code group remove} it, start a new node empty with {@code --join}, {@code group add} it, then
 * kill the leader: the group of the two old nodes and the new one fails over, and four parties cycling a barrier all
 * along pass every generation exactly once. And what is refused, in a line.
 */
class GroupMembershipIT {

    @Test
    void aDeadNodeIsReplacedByANewOneAndTheNewGroupFailsOver() throws Exception {
        // Snapshots every 100 entries: by the time the new node joins, the log before the last one is purged, so the
        // leader has to send it the snapshot first.
        try (CoordinatorGroup group = new CoordinatorGroup(3, "--snapshot-every", "100");
             LockstepClient operator = LockstepClient.builder().address(group.addresses()).clientName("operator")
                     .connect();
             CyclingParties parties = new CyclingParties(group.addresses(), "replaced", 4)) {
            parties.awaitRounds(10);
            int leader = group.leader(30);
            int gone = leader == 2 ? 1 : 2;
            String goneId = LocalGroup.id(gone);
            group.kill(gone); // for good: its machine is gone
            System.out.println(operator.removeMember(goneId));
            parties.awaitRounds(300); // several snapshots, and the log purged up to them

            // Refusals: one line each, nothing changed.
            String other = LocalGroup.id(3 - leader - gone);
            assertEquals("refused: the group would have one node left, which no failure leaves a majority of; add a "
                    + "node first", assertThrows(LockstepException.class, () -> operator.removeMember(other))
                    .getMessage());
            assertEquals("refused: " + LocalGroup.id(leader) + " leads the group; hand the lead to another node first "
                    + "(group transfer-leader)", assertThrows(LockstepException.class,
                    () -> operator.removeMember(LocalGroup.id(leader))).getMessage());
            assertEquals("refused: n9 is not a member of the group (" + members(group, gone) + ")",
                    assertThrows(LockstepException.class, () -> operator.removeMember("n9")).getMessage());
            assertEquals("refused: a member is written id=host:port (its Raft address), as in --peers, not 'n4'",
                    assertThrows(LockstepException.class, () -> operator.addMember("n4")).getMessage());

            // The new node: empty, with --join, its own certificate from the group's CA.
            int[] ports = LocalGroup.freePorts(3);
            String n4 = "n4=127.0.0.1:" + ports[1];
            Path[] cert = group.ca().issue("n4");
            Path data = Files.createTempDirectory("lockstep-n4-");
            List<String> cmd = new ArrayList<>(List.of(Proc.java(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                    "-Xmx256m", "-jar", CoordinatorGroup.JAR.getPath(), "--bind", "127.0.0.1", "--port", "" + ports[0],
                    "--http-port", "" + ports[2], "--node-id", "n4", "--peers", String.join(",",
                            peer(group, leader), peer(group, 3 - leader - gone), n4), "--data-dir", data.toString(),
                    "--join"));
            cmd.addAll(CoordinatorGroup.peerTlsOptions(cert[0], cert[1], group.ca().caPem()));
            Proc fourth = new Proc(cmd);
            try {
                fourth.expect(Pattern.compile("listening on"), 60);
                String said = operator.addMember(n4);
                System.out.println(said);
                assertEquals("n4 joined the group; the members are now " + members(group, gone) + ", n4", said);
                assertTrue(fourth.lines().stream().anyMatch(l -> l.contains("loaded the snapshot")),
                        "the new node started from the leader's snapshot: " + fourth.lines());
                assertEquals("refused: n4 is a member of the group already",
                        assertThrows(LockstepException.class, () -> operator.addMember(n4)).getMessage());
                GroupStatus view = operator.group().orElseThrow();
                assertEquals(Set.of(LocalGroup.id(leader), other, "n4"), view.nodes().stream().map(GroupStatus.Node::id)
                        .collect(Collectors.toSet()), "the members as the group has them now");
                parties.awaitRounds(10);

                group.kill(leader); // the old follower and the new node elect a leader between them
                parties.awaitRounds(10);
                GroupStatus after = await().atMost(Duration.ofSeconds(30)).until(() -> {
                    try {
                        return operator.group().orElseThrow();
                    } catch (LockstepException reconnecting) {
                        return null;
                    }
                }, g -> g != null && !g.leader().isEmpty() && !g.leader().equals(LocalGroup.id(leader)));
                System.out.println("after the leader's kill: " + after.leader() + " leads " + after.nodes().stream()
                        .map(GroupStatus.Node::id).toList());
            } finally {
                fourth.process.destroyForcibly();
                LocalGroup.deleteTree(data);
            }
        }
    }

    private static String peer(CoordinatorGroup group, int i) {
        return LocalGroup.id(i) + "=" + group.peers().get(LocalGroup.id(i));
    }

    /** The ids left after {@code gone} was removed, sorted, comma-separated. */
    private static String members(CoordinatorGroup group, int gone) {
        return group.peers().keySet().stream().filter(id -> !id.equals(LocalGroup.id(gone))).sorted()
                .collect(Collectors.joining(", "));
    }
}
