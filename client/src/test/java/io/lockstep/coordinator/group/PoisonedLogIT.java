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
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
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
}
