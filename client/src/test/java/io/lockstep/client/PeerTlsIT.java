package io.lockstep.client;

import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
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
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A group whose nodes talk mutual TLS, against someone who knows only the peer addresses (and Lockstep's public group
 * id): with Apache Ratis's own client, without a certificate, with one of another CA, even with a node's own
 * certificate, nobody can submit a log entry, change the members or move the leader; a node whose certificate another
 * CA signed cannot join; and two parties keep passing rounds throughout.
 */
class PeerTlsIT {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final RaftGroupId GROUP_ID =
            RaftGroupId.valueOf(UUID.nameUUIDFromBytes("lockstep-coordinator".getBytes(StandardCharsets.UTF_8)));
    private static final Pattern APPLIED = Pattern.compile("(?m)^lockstep_raft_applied_index (\\S+)$");

    /** Two parties cycling a barrier until stopped; counts the rounds and fails on anything but a release. */
    private static final class Rounds implements AutoCloseable {
        final AtomicLong passed = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        final CompletableFuture<Void> a;
        final CompletableFuture<Void> b;
        final LockstepClient ca;
        final LockstepClient cb;

        Rounds(String addresses) throws Exception {
            ca = LockstepClient.builder().address(addresses).clientName("a").connect();
            cb = LockstepClient.builder().address(addresses).clientName("b").connect();
            a = CompletableFuture.runAsync(() -> cycle(ca.barrier("rounds", 2), passed));
            b = CompletableFuture.runAsync(() -> cycle(cb.barrier("rounds", 2), null));
        }

        private void cycle(DistributedBarrier barrier, AtomicLong count) {
            try {
                while (!stop.get()) {
                    barrier.await(30, TimeUnit.SECONDS);
                    if (count != null) {
                        count.incrementAndGet();
                    }
                }
            } catch (Exception e) {
                if (!stop.get()) { // once stopped, the client closes under a party that may still wait
                    throw new AssertionError("a party saw " + e, e);
                }
            }
        }

        /** Waits for {@code n} more rounds. */
        void more(long n) {
            long target = passed.get() + n;
            await().atMost(LIMIT).until(() -> passed.get() >= target || a.isDone() || b.isDone());
            if (a.isDone() || b.isDone()) {
                (a.isDone() ? a : b).join(); // throws what the party saw
            }
        }

        @Override
        public void close() throws Exception {
            more(1);
            stop.set(true);
            ca.close();
            cb.close();
            a.get(30, TimeUnit.SECONDS);
            b.get(30, TimeUnit.SECONDS);
        }
    }

    private static RaftClient outsider(Map<String, String> peers, GrpcTlsConfig tls) {
        RaftProperties p = new RaftProperties();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(3, TimeUnit.SECONDS));
        Parameters parameters = new Parameters();
        if (tls != null) {
            GrpcConfigKeys.TLS.setConf(parameters, tls);
        }
        List<RaftPeer> members = new ArrayList<>();
        peers.forEach((id, at) -> members.add(RaftPeer.newBuilder().setId(id).setAddress(at).build()));
        return RaftClient.newBuilder().setProperties(p).setParameters(parameters)
                .setRaftGroup(RaftGroup.valueOf(GROUP_ID, members)).setRetryPolicy(RetryPolicies.noRetry()).build();
    }

    /** Every way in an outsider with Ratis's client has: submit, reconfigure, move the leader. All must fail. */
    private static void triesEverything(CoordinatorGroup group, GrpcTlsConfig tls, int leader) throws Exception {
        try (RaftClient outsider = outsider(group.peers(), tls)) {
            byte[] poison = ByteBuffer.allocate(61).putLong(1).putInt(1_900_000_000).array();
            assertThrows(Exception.class, () -> outsider.io().send(Message.valueOf(ByteString.copyFrom(poison))));
            assertThrows(Exception.class, () -> outsider.admin().setConfiguration(List.of(
                    RaftPeer.newBuilder().setId("n" + (leader + 1)).setAddress(group.peers().get("n" + (leader + 1)))
                            .build())));
            assertThrows(Exception.class, () -> outsider.admin().transferLeadership(
                    RaftPeerId.valueOf(leader == 0 ? "n2" : "n1"), 2000));
        }
    }

    @Test
    void nobodyWithoutTheGroupsTrustCanSubmitReconfigureOrMoveTheLeaderWhileRoundsGoOn() throws Exception {
        try (CoordinatorGroup group = new CoordinatorGroup(3);
             Rounds rounds = new Rounds(group.addresses())) {
            rounds.more(20);
            int leader = group.leader(30);
            // No certificate at all: plaintext against a TLS port.
            triesEverything(group, null, leader);
            // A certificate of another CA (and trusting the group's CA, whose certificate is no secret).
            TestCertificates other = new TestCertificates();
            Path[] stranger = other.issue("stranger");
            triesEverything(group, new GrpcTlsConfig(stranger[1].toFile(), stranger[0].toFile(),
                    group.ca().caPem().toFile(), true), leader);
            // Even a node's own certificate, stolen: the Raft port serves nothing but the nodes' own traffic.
            Path[] stolen = group.ca().issue("stolen");
            triesEverything(group, new GrpcTlsConfig(stolen[1].toFile(), stolen[0].toFile(),
                    group.ca().caPem().toFile(), true), leader);
            rounds.more(20);
            assertEquals(leader, group.leader(30), "the leader did not move");
            for (int i = 0; i < 3; i++) {
                String metrics = group.http(i, "/metrics");
                assertTrue(metrics.contains("lockstep_raft_bad_entries_total 0.0"), "n" + (i + 1) + ": " + metrics);
            }
            long refused = 0;
            for (int i = 0; i < 3; i++) {
                Matcher m = Pattern.compile("(?m)^lockstep_raft_calls_refused_total (\\S+)$")
                        .matcher(group.http(i, "/metrics"));
                assertTrue(m.find());
                refused += (long) Double.parseDouble(m.group(1));
            }
            // The stolen certificate got through TLS, so its calls reached the port and were refused there; the
            // others never got past the handshake.
            assertTrue(refused >= 3, "calls refused: " + refused);
        }
    }

    @Test
    void aNodeWhoseCertificateAnotherCaSignedCannotJoin() throws Exception {
        try (CoordinatorGroup group = new CoordinatorGroup(3);
             Rounds rounds = new Rounds(group.addresses())) {
            rounds.more(10);
            int leader = group.leader(30);
            int outcast = (leader + 1) % 3;
            group.kill(outcast);
            TestCertificates other = new TestCertificates();
            Path[] foreign = other.issue("n" + (outcast + 1));
            group.usePeerTls(outcast, CoordinatorGroup.peerTlsOptions(foreign[0], foreign[1], other.caPem()));
            group.start(outcast);
            rounds.more(50); // the other two carry on
            // The leader cannot reach it, and it learns nothing: no leader, nothing applied from the group.
            await().atMost(LIMIT).until(() -> group.http(leader, "/health").startsWith("ok: leader")
                    && statusOf(group, leader, outcast).equals("unreachable"));
            assertTrue(group.http(outcast, "/health").contains("no leader is known"), group.http(outcast, "/health"));
            long leaderApplied = applied(group, leader);
            assertTrue(applied(group, outcast) < leaderApplied, "it applied nothing of the last rounds");

            // With a certificate the group's CA signed, the same node joins and catches up.
            group.kill(outcast);
            Path[] own = group.ca().issue("n" + (outcast + 1));
            group.usePeerTls(outcast, CoordinatorGroup.peerTlsOptions(own[0], own[1], group.ca().caPem()));
            group.start(outcast);
            await().atMost(LIMIT).until(() -> applied(group, outcast) >= leaderApplied);
            rounds.more(10);
        }
    }

    private static long applied(CoordinatorGroup group, int node) throws Exception {
        Matcher m = APPLIED.matcher(group.http(node, "/metrics"));
        return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
    }

    /** The role the leader's GROUP answer gives node {@code of}. */
    private static String statusOf(CoordinatorGroup group, int leader, int of) throws Exception {
        try (LockstepClient c = LockstepClient.builder().address(group.address(leader)).clientName("observer")
                .connect()) {
            return c.group().orElseThrow().nodes().stream().filter(m -> m.id().equals("n" + (of + 1)))
                    .findFirst().orElseThrow().role();
        }
    }
}
