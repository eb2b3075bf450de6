package io.lockstep.coordinator.group;

import io.lockstep.client.DistributedBarrier;
import io.lockstep.client.LockstepClient;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.MD5FileUtil;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What reaches a group's log from outside, on a group whose Raft traffic is plaintext (as with
 * {@code --peer-insecure}): Apache Ratis's own client, pointed at the peer ports, can neither submit an entry nor
 * change the members or the leader; and an entry that is not one a node writes, forced into the log through a node's
 * own proposal path, is skipped by every node alike — counted, the group serving on — also when the whole group
 * restarts and applies its log again.
 */
class PoisonedLogIT {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    /** A node passes -Draft.* system properties to Ratis: this one says whether it snapshots when it stops. */
    private static final String NO_SNAPSHOT_AT_STOP = "raft.server.snapshot.trigger-when-stop.enabled";
    /** The group id every Lockstep group has: public knowledge, as an outsider would take it. */
    private static final RaftGroupId GROUP_ID =
            RaftGroupId.valueOf(UUID.nameUUIDFromBytes("lockstep-coordinator".getBytes(StandardCharsets.UTF_8)));

    /** One round of a two-party barrier, each party its own client. */
    private static void aRoundPasses(String addresses, String barrier) throws Exception {
        try (LockstepClient a = LockstepClient.builder().address(addresses).clientName("a").connect();
             LockstepClient b = LockstepClient.builder().address(addresses).clientName("b").connect()) {
            DistributedBarrier ba = a.barrier(barrier, 2);
            DistributedBarrier bb = b.barrier(barrier, 2);
            CompletableFuture<Integer> first = ba.awaitAsync();
            int second = bb.await(30, TimeUnit.SECONDS);
            assertEquals(1, first.get(30, TimeUnit.SECONDS) + second, "indices 0 and 1");
        }
    }

    private static RaftClient outsider(Map<String, String> peers) {
        RaftProperties p = new RaftProperties();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(3, TimeUnit.SECONDS));
        List<RaftPeer> members = new ArrayList<>();
        peers.forEach((id, at) -> members.add(RaftPeer.newBuilder().setId(id).setAddress(at).build()));
        return RaftClient.newBuilder().setProperties(p).setRaftGroup(RaftGroup.valueOf(GROUP_ID, members))
                .setRetryPolicy(RetryPolicies.noRetry()).build();
    }

    @Test
    void ratisOwnClientCanNeitherSubmitNorReconfigureNorMoveTheLeader() throws Exception {
        try (InProcessGroup group = new InProcessGroup()) {
            await().atMost(LIMIT).until(() -> group.leader() >= 0);
            aRoundPasses(group.addresses(), "before");
            int leader = group.leader();
            String leaderId = "n" + (leader + 1);
            try (RaftClient outsider = outsider(group.peers())) {
                // The 61 bytes that once stopped every node, and a well-formed entry's worth of inputs alike.
                byte[] poison = ByteBuffer.allocate(61).putLong(1).putInt(1_900_000_000).array();
                assertThrows(Exception.class, () -> outsider.io().send(Message.valueOf(ByteString.copyFrom(poison))));
                assertThrows(Exception.class, () -> outsider.admin().setConfiguration(List.of(
                        RaftPeer.newBuilder().setId(leaderId).setAddress(group.peers().get(leaderId)).build())));
                String other = leader == 0 ? "n2" : "n1";
                assertThrows(Exception.class, () -> outsider.admin().transferLeadership(RaftPeerId.valueOf(other),
                        2000));
            }
            assertEquals(leader, group.leader(), "the leader did not move");
            long refused = 0;
            for (int i = 0; i < 3; i++) {
                assertEquals(0, group.counter(i, "lockstep_raft_bad_entries"), "n" + (i + 1) + " saw no bad entry");
                refused += group.counter(i, "lockstep_raft_calls_refused");
            }
            assertTrue(refused >= 3, "the nodes count the calls they refused: " + refused);
            aRoundPasses(group.addresses(), "after");
        }
    }

    @Test
    void anEntryNoNodeWroteIsSkippedByEveryNodeAlikeAlsoWhenTheWholeGroupRestarts() throws Exception {
        // No snapshot when a node stops, as after a kill -9: the restarted nodes apply their whole log again.
        System.setProperty(NO_SNAPSHOT_AT_STOP, "false");
        try (InProcessGroup group = new InProcessGroup()) {
            await().atMost(LIMIT).until(() -> group.leader() >= 0);
            aRoundPasses(group.addresses(), "before");
            // A count of 1.9e9 inputs in 61 bytes, a count of -1, and an input of a kind that does not exist.
            List<byte[]> poison = List.of(
                    ByteBuffer.allocate(61).putLong(1).putInt(1_900_000_000).array(),
                    ByteBuffer.allocate(12).putLong(1).putInt(-1).array(),
                    ByteBuffer.allocate(13).putLong(1).putInt(1).put((byte) 99).array());
            for (byte[] entry : poison) {
                group.log(group.leader()).proposeAsIs(entry);
            }
            for (int i = 0; i < 3; i++) {
                int node = i;
                await().atMost(LIMIT).until(() -> group.counter(node, "lockstep_raft_bad_entries") == poison.size());
            }
            aRoundPasses(group.addresses(), "after");

            group.restartAll(); // each node applies its log again from the start, the bad entries with it
            for (int i = 0; i < 3; i++) {
                int node = i;
                await().atMost(LIMIT).until(() -> group.counter(node, "lockstep_raft_bad_entries") == poison.size());
            }
            await().atMost(LIMIT).until(() -> group.leader() >= 0);
            aRoundPasses(group.addresses(), "after the restart");
        } finally {
            System.clearProperty(NO_SNAPSHOT_AT_STOP);
        }
    }

    @Test
    void aNodeDoesNotStartFromACorruptSnapshotAndSaysWhichFileInOneLine() throws Exception {
        Path snapshot;
        String peers;
        Path data;
        try (InProcessGroup group = new InProcessGroup()) {
            await().atMost(LIMIT).until(() -> group.leader() >= 0);
            aRoundPasses(group.addresses(), "before");
            group.stopAll(); // each node snapshots as it stops
            data = group.dataDir(0);
            try (Stream<Path> files = Files.walk(data)) {
                snapshot = files.filter(f -> f.getFileName().toString().matches("snapshot\\.\\d+_\\d+"))
                        .findFirst().orElseThrow();
            }
            peers = String.join(",", group.peers().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .toList());
            byte[] good = Files.readAllBytes(snapshot);
            byte[] bad = good.clone();
            ByteBuffer.wrap(bad).putInt(8, 0x7fffffff); // where a boolean (is there a leader) and more begin

            // Changed bytes under the digest saved beside them: the digest says so.
            Files.write(snapshot, bad);
            String said = startFails(peers, data);
            assertTrue(said.contains("cannot start from the snapshot " + snapshot) && said.contains("MD5"), said);

            // The same bytes with a digest that matches them: the decoder says what is wrong.
            MD5FileUtil.saveMD5File(snapshot.toFile(), MD5FileUtil.computeMd5ForFile(snapshot.toFile()));
            said = startFails(peers, data);
            assertTrue(said.contains("cannot start from the snapshot " + snapshot) && said.contains("a boolean of 127"),
                    said);
        }
    }

    /** Starts node n1 from the real jar on {@code data}; it must exit 1 with one line on stderr, returned. */
    private static String startFails(String peers, Path data) throws Exception {
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar",
                "../coordinator/target/lockstep-coordinator.jar", "--bind", "127.0.0.1", "--port", "0", "--no-http",
                "--node-id", "n1", "--peers", peers, "--data-dir", data.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the node exits");
        assertEquals(1, p.exitValue(), err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        return err;
    }
}
