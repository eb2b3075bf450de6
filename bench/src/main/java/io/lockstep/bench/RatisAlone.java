package io.lockstep.bench;

import io.lockstep.coordinator.group.GroupConfig;
import io.lockstep.coordinator.group.ReplicatedLog;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.HdrHistogram.Histogram;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;

/**
 * What Apache Ratis alone does here, for comparison with a group: three Ratis servers set up as a Lockstep group
 * sets up its own (gRPC transport, the same log settings, proposals submitted on the leader's own division), whose
 * leader commits one small entry at a time — propose, wait until it is applied, propose the next — and nothing else:
 * no clients, no barrier, a state machine that only counts. A barrier round needs one such commit after its last
 * arrival (a release is sent only once every arrival is on a majority), so this is about the most rounds a second a
 * barrier on Ratis with this log can do; not a strict bound, because commits back to back also wait for what the
 * previous one left running (the leader's flush, the followers' applies), which a round's client leg would overlap.
 *
 * <p>Run one process per node, all with the same arguments but the id; the leader prints one line,
 * {@code ratis-alone log=... commits_per_s=... p50_us=... p99_us=...}, and exits (or exits with {@link #VOID} if it
 * lost leadership before the end); the others are stopped by whoever started them:
 * <pre>java -cp lockstep-coordinator.jar:lockstep-bench.jar io.lockstep.bench.RatisAlone \
 *     n1 n1=127.0.0.1:17901,n2=127.0.0.1:17902,n3=127.0.0.1:17903 DIR disk|memory COMMITS WARMUP GAP_MICROS</pre>
 * GAP_MICROS: a pause after each commit (0: none), to see whether commits spaced as a barrier spaces them go faster.
 */
public final class RatisAlone {

    private static final RaftGroupId GROUP =
            RaftGroupId.valueOf(UUID.nameUUIDFromBytes("lockstep-ratis-alone".getBytes(StandardCharsets.UTF_8)));
    /** About one log entry of a 4-party round: four arrivals, each a session, request id and barrier name. */
    private static final Message ENTRY = Message.valueOf(ByteString.copyFrom(new byte[128]));

    /** The exit status of a leader whose run was void: it lost leadership before the end (run it again). */
    static final int VOID = 3;

    private static final String USAGE = "usage: RatisAlone ID PEERS DIR disk|memory COMMITS WARMUP GAP_MICROS";

    private RatisAlone() {
    }

    public static void main(String[] args) throws Exception {
        try {
            if (args.length != 7 || !args[3].matches("disk|memory")) {
                throw new IllegalArgumentException("seven arguments, the fourth disk or memory");
            }
            run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("ratis-alone: " + e.getMessage() + "\n" + USAGE);
            System.exit(2);
        }
    }

    private static void run(String[] args) throws Exception {
        String id = args[0];
        boolean memory = args[3].equals("memory");
        int commits = number("COMMITS", args[4]);
        int warmup = number("WARMUP", args[5]);
        long gapNanos = number("GAP_MICROS", args[6]) * 1000L;
        if (commits < 1 || warmup < 0 || gapNanos < 0) {
            throw new IllegalArgumentException("COMMITS at least 1, WARMUP and GAP_MICROS at least 0");
        }
        GroupConfig node = new GroupConfig(id, GroupConfig.parsePeers(args[1]), Path.of(args[2], id), memory,
                GroupConfig.DEFAULT_SNAPSHOT_EVERY); // checks the peers, and that id is one of them
        List<RaftPeer> peers = new ArrayList<>();
        node.peers().forEach((peer, at) -> peers.add(RaftPeer.newBuilder().setId(peer).setAddress(at).build()));
        RaftProperties p = ReplicatedLog.raftProperties(node, node.ownHost()); // exactly as a node sets up Ratis

        CountDownLatch leads = new CountDownLatch(1);
        RaftServer server = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(id))
                .setGroup(RaftGroup.valueOf(GROUP, peers))
                .setStateMachine(new Counting(leads))
                .setProperties(p)
                .setParameters(ReplicatedLog.raftParameters(node, ReplicatedLog.peerServicesOnly()))
                .setOption(RaftStorage.StartupOption.FORMAT)
                .build();
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception ignored) {
                // exiting anyway
            }
        }));
        leads.await();
        RaftClientAsynchronousProtocol division = (RaftClientAsynchronousProtocol) server.getDivision(GROUP);
        ClientId proposer = ClientId.randomId();
        Histogram latency = new Histogram(3_600_000_000L, 3);
        long call = 0;
        long start = 0;
        for (int i = 0; i < warmup + commits; i++) {
            if (i == warmup) {
                start = System.nanoTime();
            }
            long t0 = System.nanoTime();
            RaftClientReply reply = division.submitClientRequestAsync(RaftClientRequest.newBuilder()
                    .setClientId(proposer).setServerId(RaftPeerId.valueOf(id)).setGroupId(GROUP)
                    .setCallId(++call).setMessage(ENTRY).setType(RaftClientRequest.writeRequestType())
                    .build()).join();
            if (!reply.isSuccess()) {
                System.err.println("ratis-alone: a commit failed (" + reply.getException() + "); this run is void");
                System.exit(VOID);
            }
            if (i >= warmup) {
                latency.recordValue((System.nanoTime() - t0) / 1000);
            }
            if (gapNanos > 0) {
                LockSupport.parkNanos(gapNanos);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("ratis-alone log=%s commits=%d commits_per_s=%.1f p50_us=%d p99_us=%d%n",
                memory ? "memory" : "disk", commits, commits / seconds, latency.getValueAtPercentile(50),
                latency.getValueAtPercentile(99));
        System.out.flush();
        System.exit(0);
    }

    private static int number(String name, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " is not a number: " + value);
        }
    }

    /** Applies by counting; tells the waiting main thread when this node may propose. */
    private static final class Counting extends BaseStateMachine {
        private final CountDownLatch leads;

        Counting(CountDownLatch leads) {
            this.leads = leads;
        }

        @Override
        public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
            updateLastAppliedTermIndex(TermIndex.valueOf(trx.getLogEntry()));
            return CompletableFuture.completedFuture(Message.EMPTY);
        }

        @Override
        public void notifyLeaderReady() {
            leads.countDown();
        }
    }
}
