package io.lockstep.coordinator.group;

import io.lockstep.coordinator.core.Input;
import io.lockstep.coordinator.server.Applier;
import io.lockstep.coordinator.server.CommandLog;
import io.lockstep.protocol.Message.Await;
import io.lockstep.protocol.Message.GroupStatus;
import io.lockstep.protocol.Message.Member;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.server.GrpcServices;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.proto.RaftProtos.ServerRpcProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.protocol.TransferLeadershipRequest;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A node of a coordinator group: the {@link CommandLog} whose inputs go through Apache Ratis (Raft) before anyone
 * applies them. The leader packs everything its connections said in one event-loop turn into one log entry (group
 * commit), stamped with the group's time ({@link #now}); every replica applies committed entries in order through
 * {@link ReplicaStateMachine}. Only the leader accepts sessions; when it takes over, it announces itself through the
 * log (so the others can point clients to it) and starts the lease of every session its predecessor served.
 *
 * <p>{@link #submit} runs on the driver's executor; the leadership callbacks come from Ratis's threads and hop
 * onto it.
 */
public final class ReplicatedLog implements CommandLog {

    private static final Logger log = LoggerFactory.getLogger(ReplicatedLog.class);
    /** Every Lockstep group has this id: a node belongs to one group, named by its peers. */
    private static final RaftGroupId GROUP_ID =
            RaftGroupId.valueOf(UUID.nameUUIDFromBytes("lockstep-coordinator".getBytes(StandardCharsets.UTF_8)));
    private final GroupConfig config;
    private final String bindHost;
    private final boolean join;
    /** A change of the members this node asked for is under way (one at a time). */
    private final java.util.concurrent.atomic.AtomicBoolean changing = new java.util.concurrent.atomic.AtomicBoolean();
    /** What applies the inputs: set by {@link #start}. */
    private Applier driver;
    private final RaftGroup group;
    private final RaftPeerId self;
    private final ClientId proposer = ClientId.randomId();
    private final List<Input> batch = new ArrayList<>();
    /**
     * On the leader: arrivals proposed and not applied yet, by barrier. An arrival that cannot complete its
     * generation, even with these, may wait for the one that does (see {@link #submit}).
     */
    private final Map<String, Integer> pendingArrivals = new HashMap<>();
    /** A proposal of {@link #batch} is queued for the end of this event-loop turn. */
    private boolean proposalDue;
    /** The timer that proposes a batch of inputs that may wait, if nothing else does first. */
    private ScheduledFuture<?> holding;
    /** How long an input that may wait is held at most: about the spread of a round's arrivals here. */
    static final long HOLD_MICROS = Long.getLong("lockstep.group.hold-micros", 1000);
    /**
     * A follower that hears nothing from its leader for a random time in [min, max] campaigns (after a pre-vote, so a
     * node that was merely slow does not unseat a live leader); a leader sends a heartbeat every min / 2 without
     * traffic, and steps down if a majority has not answered it within max. Twice Ratis's 150-300 ms, so that a
     * leader or its followers stalled for up to 300 ms (a collection, a busy machine) keep their places; failover still
     * takes about a second (bench/RESULTS.md), where 600-1200 ms took up to 2.7 s.
     */
    static final TimeDuration ELECTION_TIMEOUT_MIN = TimeDuration.valueOf(300, TimeUnit.MILLISECONDS);
    static final TimeDuration ELECTION_TIMEOUT_MAX = TimeDuration.valueOf(600, TimeUnit.MILLISECONDS);
    /**
     * A node whose JVM was paused longer than this steps down if it leads (Ratis's pause monitor), and a leader that
     * stepped down for want of a majority waits this long before it campaigns again. It was 1 s: a pause that long
     * on a busy machine deposed a live leader.
     */
    static final TimeDuration STEP_DOWN = TimeDuration.valueOf(3, TimeUnit.SECONDS);
    /** How long the leader goes without hearing from a follower before calling it unreachable (3+ heartbeats). */
    private static final TimeDuration SILENCE = TimeDuration.valueOf(1, TimeUnit.SECONDS);
    /** How long a transfer of the lead may take before Ratis gives it up (the old leader then leads on). */
    private static final TimeDuration TRANSFER_TIMEOUT = TimeDuration.valueOf(10, TimeUnit.SECONDS);
    private final PeerServicesOnly peerServices = new PeerServicesOnly();
    /** While a deadline waits, the leader puts an entry in the log at least this often (see {@link #now}). */
    static final long CLOCK_ENTRY_EVERY_MILLIS = 250;
    /** On the leader (executor-confined): the group's time when it took over, and its local clock then. */
    private boolean timing;
    private long tookOverAtMillis;
    private long tookOverLocalMillis;
    private volatile RaftServer server;
    /**
     * Where proposals go: this node's division of the group, called on the driver's executor. Through the server
     * instead, every proposal hops to a Ratis thread and back, the executor blocked meanwhile (two thread switches on
     * every round's path).
     */
    private RaftClientAsynchronousProtocol proposals;
    private String clientAddress;
    private long callId;
    /** True while this node leads and has taken over: written on the executor. */
    private volatile boolean leading;
    /** The leader as Ratis last told this node, or null. */
    private volatile RaftPeerId leader;

    /** The node {@code config} describes; its Raft port binds {@code bindHost} unless the group is on loopback. */
    public ReplicatedLog(GroupConfig config, String bindHost) {
        this(config, bindHost, false);
    }

    /**
     * The same; {@code join}: the node starts outside the group, with no members, and waits for the group's leader
     * to add it ({@code bin/lockstep group add}); it learns the members, the log or a snapshot from the leader. A
     * node that already has a log ignores it (its members are the ones its log says).
     */
    public ReplicatedLog(GroupConfig config, String bindHost, boolean join) {
        this.config = config;
        this.bindHost = bindHost;
        this.join = join;
        List<RaftPeer> peers = new ArrayList<>();
        for (Map.Entry<String, String> p : config.peers().entrySet()) {
            peers.add(RaftPeer.newBuilder().setId(p.getKey()).setAddress(p.getValue()).build());
        }
        this.group = join ? RaftGroup.valueOf(GROUP_ID) : RaftGroup.valueOf(GROUP_ID, peers);
        this.self = RaftPeerId.valueOf(config.nodeId());
    }

    /**
     * Starts this node's Raft server; clients are told to reach this node at its peer host and {@code clientPort}.
     * Returns at once: the group elects a leader by itself.
     */
    @Override
    public void start(Applier applier, int clientPort) throws IOException {
        this.driver = applier;
        this.clientAddress = config.ownHost() + ":" + clientPort;
        if (config.plaintextAcrossNetwork()) {
            log.warn("--peer-insecure: the group's Raft traffic crosses the network in plaintext, unauthenticated. "
                    + "Anyone who can reach a peer port ({}) can read every barrier, client and session id in it, "
                    + "and forge log entries as a leader would: break barriers, release them, end sessions. Use "
                    + "--peer-tls-cert, --peer-tls-key and --peer-tls-ca unless that network is yours alone",
                    String.join(", ", config.peers().values()));
        }
        try {
            server = RaftServer.newBuilder()
                    .setServerId(self)
                    .setGroup(group)
                    .setStateMachine(new ReplicaStateMachine(driver, this, proposer, config.dataDir()))
                    .setProperties(raftProperties(config, bindHost))
                    .setParameters(raftParameters(config, peerServices))
                    .setOption(RaftStorage.StartupOption.RECOVER)
                    .build();
            server.start();
        } catch (IOException | RuntimeException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof ReplicaStateMachine.UnusableSnapshot unusable) {
                    throw unusable; // its one line says what an operator needs; Ratis's wrappers add nothing
                }
            }
            throw e;
        }
        RaftServer.Division division = server.getDivision(GROUP_ID);
        proposals = division instanceof RaftClientAsynchronousProtocol direct ? direct : server;
        // (Bad entries met while the server started and applied its log are counted already, and show from now on.)
        driver.metrics().group(() -> division.getInfo().getCurrentTerm(),
                () -> division.getRaftLog().getLastCommittedIndex(), () -> division.getInfo().getLastAppliedIndex(),
                () -> leading, peerServices::refused);
        log.info("node {} of group {} started; Raft traffic on {}:{} ({}), log {} in {}", config.nodeId(),
                config.peers().keySet(), peerBindHost(config, bindHost), config.ownPort(),
                config.peerTls() != null ? "mutual TLS" : config.onLoopback() ? "plaintext on loopback" : "PLAINTEXT",
                config.memoryLog() ? "in memory" : "on disk", config.dataDir());
    }

    /**
     * Where the Raft port listens: on loopback if the whole group is (so nothing off this machine reaches it), else
     * on the node's {@code --bind} address.
     */
    static String peerBindHost(GroupConfig config, String bindHost) {
        return config.onLoopback() ? GroupConfig.host(config.peers().get(config.nodeId())) : bindHost;
    }

    /**
     * What Ratis takes beside its properties: the services the Raft port serves ({@code services}: only the peers'),
     * and mutual TLS if the group has it. Public for the benchmark's bare-Ratis reference, set up as a node is.
     */
    public static Parameters raftParameters(GroupConfig config, GrpcServices.Customizer services) {
        Parameters parameters = new Parameters();
        GrpcConfigKeys.Server.setServicesCustomizer(parameters, services);
        if (config.peerTls() != null) {
            GrpcConfigKeys.Server.setTlsConf(parameters, config.peerTls().ratis());
        }
        return parameters;
    }

    /** The services a node's Raft port serves: only Ratis's own between servers (for the benchmark's reference). */
    public static GrpcServices.Customizer peerServicesOnly() {
        return new PeerServicesOnly();
    }

    /**
     * How the node {@code config} describes sets up Ratis: the gRPC transport (the one with mutual TLS) on its own
     * port, its log and snapshots, and any {@code -Draft.<key>=<value>} of this JVM. Public for the benchmark's
     * bare-Ratis reference ({@code RatisAlone}), which must be set up as a node is.
     */
    public static RaftProperties raftProperties(GroupConfig config, String bindHost) {
        boolean memoryLog = config.memoryLog();
        RaftProperties p = new RaftProperties();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        GrpcConfigKeys.Server.setHost(p, peerBindHost(config, bindHost)); // Ratis binds every interface unless told
        GrpcConfigKeys.Server.setPort(p, config.ownPort());
        RaftServerConfigKeys.setStorageDir(p, Collections.singletonList(config.dataDir().toFile()));
        RaftServerConfigKeys.Log.setUseMemory(p, memoryLog);
        // Ratis follows every commit with a metadata entry recording the commit index, so that a node restarted
        // alone can apply its log without a leader. A Lockstep node serves only as (or through) a leader, which
        // re-establishes the commit index anyway. On a disk log each such entry is one more flush on every node, and
        // the next round's entry waits behind it (0.7 x the rounds/s with it); in memory it costs no flush and tells
        // the followers the commit index at once, so they apply a round between rounds: kept there.
        RaftServerConfigKeys.Log.setLogMetadataEnabled(p, memoryLog);
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        // Snapshots bound the log, and the replay after a restart.
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, config.snapshotEvery());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        // The log is purged up to the snapshot only as far as every member has committed it (Ratis's default): a node
        // that was down catches up from the leader's log. Purged up to the snapshot regardless, a returning node had to
        // be sent the snapshot, and Ratis 3.2.2's gRPC appender then sometimes read an entry purged under it ("Log
        // entry not found"), died, restarted and never reached the node (ReplicatedGroupIT, about one run in three).
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, false);
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, ELECTION_TIMEOUT_MIN);
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, ELECTION_TIMEOUT_MAX);
        RaftServerConfigKeys.LeaderElection.setPreVote(p, true);
        RaftServerConfigKeys.LeaderElection.setLeaderStepDownWaitTime(p, STEP_DOWN);
        // For experts and tests: any -Draft.<key>=<value> on this JVM's command line is passed to Ratis as it is.
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith("raft.")) {
                p.set(key, System.getProperty(key));
            }
        }
        return p;
    }

    /** Stops this node's Raft server; the rest of the group carries on. */
    @Override
    public void stop() {
        leading = false;
        if (server != null) {
            try {
                server.close();
            } catch (IOException e) {
                log.warn("the Raft server did not close cleanly: {}", e.toString());
            }
        }
    }

    // ---- the seam ------------------------------------------------------------------------------------------------

    /**
     * Adds {@code input} to the next entry, proposed once the event loop has done what it is doing now (reading every
     * connection that had something). An input nobody waits on yet — an acknowledgement, an arrival that cannot
     * complete its generation even with those proposed and not applied yet — may wait up to {@link #HOLD_MICROS} for
     * the one that does: a round is then one entry and one flush, instead of one per event-loop turn. Nothing is
     * reordered, nothing is held past an input that may not wait.
     */
    @Override
    public void submit(Input input, long nowMillis) {
        batch.add(input);
        if (proposalDue) {
            return;
        }
        if (mayWait(input)) {
            if (holding == null) {
                holding = driver.executor().schedule(this::propose, HOLD_MICROS, TimeUnit.MICROSECONDS);
            }
            return;
        }
        proposalDue = true;
        driver.executor().execute(this::propose);
    }

    private boolean mayWait(Input input) {
        if (input instanceof Input.Ack) {
            return true;
        }
        if (input instanceof Input.Request r && r.request() instanceof Await a) {
            int pending = pendingArrivals.merge(a.barrier(), 1, Integer::sum) - 1;
            return driver.stillToArrive(a.barrier()) - pending > 1;
        }
        return false;
    }

    /** Applies one committed entry (from {@link ReplicaStateMachine}, on the executor); see {@link Applier#applyEntry}. */
    int apply(List<Input> inputs, long stampMillis, Object entry) {
        if (!pendingArrivals.isEmpty()) {
            for (Input input : inputs) {
                if (input instanceof Input.Request r && r.request() instanceof Await a) {
                    pendingArrivals.computeIfPresent(a.barrier(), (name, n) -> n > 1 ? n - 1 : null);
                }
            }
        }
        return driver.applyEntry(inputs, stampMillis, entry);
    }

    private void propose() {
        proposalDue = false;
        if (holding != null) {
            holding.cancel(false);
            holding = null;
        }
        if (batch.isEmpty()) {
            return;
        }
        byte[] entry = InputCodec.encode(now(), batch);
        int inputs = batch.size();
        batch.clear();
        driver.metrics().batchSizes.observe(inputs);
        send(entry, inputs);
    }

    /**
     * Proposes {@code entry} as it is, on the driver's executor: for tests of what an entry that is not one
     * {@link InputCodec} wrote does to every replica (a node itself proposes only what it encodes).
     */
    void proposeAsIs(byte[] entry) {
        driver.executor().execute(() -> send(entry, 0));
    }

    /** True while this node leads and has taken over. */
    boolean leads() {
        return leading;
    }

    private void send(byte[] entry, int inputs) {
        RaftClientRequest request = RaftClientRequest.newBuilder()
                .setClientId(proposer)
                .setServerId(self)
                .setGroupId(GROUP_ID)
                .setCallId(++callId)
                .setMessage(Message.valueOf(UnsafeByteOperations.unsafeWrap(entry)))
                .setType(RaftClientRequest.writeRequestType())
                .build();
        long proposedAt = System.nanoTime();
        try {
            proposals.submitClientRequestAsync(request).whenComplete((reply, failure) -> proposed(reply, failure,
                    proposedAt));
        } catch (IOException e) {
            log.warn("cannot propose {} inputs: {}", inputs, e.toString());
        }
    }

    private void proposed(RaftClientReply reply, Throwable failure, long proposedAt) {
        Throwable why = failure != null ? failure : reply.getException();
        if (why == null) {
            driver.metrics().commitSeconds.observe((System.nanoTime() - proposedAt) / 1e9);
            return;
        }
        // Not applied: the clients will resume on the next leader and send again whatever it has not applied.
        log.debug("a proposal failed: {}", why.toString());
        if (why instanceof NotLeaderException nle) {
            leaderChanged(nle.getSuggestedLeader() == null ? null : nle.getSuggestedLeader().getId());
        }
    }

    @Override
    public boolean accepting() {
        return leading;
    }

    /** The node that leads as far as this one knows (Ratis's view), or null. */
    private String leaderNode() {
        RaftPeerId l = leader;
        return l == null ? null : l.toString();
    }

    /** The announced leader's client address, if that is the node Ratis says leads; else "". */
    @Override
    public String elsewhere() {
        Input.Leader l = driver.announcedLeader();
        return l != null && l.node().equals(leaderNode()) ? l.clientAddress() : "";
    }

    @Override
    public String role() {
        if (leading) {
            Input.Leader self = driver.announcedLeader();
            return ": leader" + (self == null ? "" : " " + self.node() + ", serving clients at " + self.clientAddress());
        }
        String node = leaderNode();
        String at = elsewhere();
        return ": follower; " + (node == null ? "no leader is known yet"
                : "the leader is " + node + (at.isEmpty() ? "" : ", serving clients at " + at));
    }

    /**
     * Asks Ratis, in process, to hand the lead to {@code node} (it brings the node's log up to date first, then lets
     * it win an election at once). Only the leader can; the Raft port's own admin service is not served at all.
     */
    @Override
    public CompletableFuture<String> transferLeadership(String node) {
        if (!leading) {
            return CompletableFuture.failedFuture(new Refused("refused: node " + config.nodeId() + " does not lead the "
                    + "group" + (leaderNode() == null ? "" : "; " + leaderNode() + " does")));
        }
        if (node.equals(config.nodeId())) {
            return CompletableFuture.completedFuture(node + " leads the group already");
        }
        RaftPeerId target = RaftPeerId.valueOf(node);
        List<String> members = new ArrayList<>();
        try {
            server.getDivision(GROUP_ID).getGroup().getPeers().forEach(p -> members.add(p.getId().toString()));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new Refused("failed: " + e.getMessage()));
        }
        if (!members.contains(node)) {
            return CompletableFuture.failedFuture(new Refused("refused: " + node + " is not a member of the group ("
                    + String.join(", ", members) + ")"));
        }
        long startedAt = System.nanoTime();
        try {
            return server.transferLeadershipAsync(new TransferLeadershipRequest(proposer, self, GROUP_ID, ++callId,
                    target, TRANSFER_TIMEOUT.toLong(TimeUnit.MILLISECONDS))).thenApply(reply -> {
                        if (reply.getException() != null) {
                            throw new java.util.concurrent.CompletionException(new Refused("failed: "
                                    + reply.getException().getMessage()));
                        }
                        return node + " leads the group now (handed over in "
                                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt) + " ms)";
                    });
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new Refused("failed: " + e.getMessage()));
        }
    }

    /**
     * The members as the group's replicated configuration has them now (the latest in this node's log: {@code
     * --peers} is only the group a node first starts with), by id, with their Raft addresses.
     */
    private Map<String, String> members(RaftServer.Division d) {
        Map<String, String> m = new java.util.TreeMap<>();
        for (RaftPeer p : d.getRaftConf().getCurrentPeers()) {
            m.put(p.getId().toString(), p.getAddress());
        }
        return m;
    }

    /** Adds the node {@code spec} names ({@code id=host:port}, its Raft address) to the group; see {@link #reconfigure}. */
    @Override
    public CompletableFuture<String> addMember(String spec) {
        int eq = spec.indexOf('=');
        String id = eq < 0 ? "" : spec.substring(0, eq).strip();
        String address = eq < 0 ? "" : spec.substring(eq + 1).strip();
        if (!id.matches("[A-Za-z0-9_.-]{1,64}") || !address.matches("\\S+:\\d{1,5}")) {
            return refused("a member is written id=host:port (its Raft address), as in --peers, not '" + spec + "'");
        }
        return reconfigure(members -> {
            if (members.containsKey(id)) {
                throw new Refused("refused: " + id + " is a member of the group already");
            }
            members.put(id, address);
            return id + " joined the group";
        });
    }

    /** Removes node {@code id} from the group; see {@link #reconfigure}. */
    @Override
    public CompletableFuture<String> removeMember(String id) {
        return reconfigure(members -> {
            if (!members.containsKey(id)) {
                throw new Refused("refused: " + id + " is not a member of the group (" + String.join(", ",
                        members.keySet()) + ")");
            }
            if (id.equals(config.nodeId())) {
                throw new Refused("refused: " + id + " leads the group; hand the lead to another node first "
                        + "(group transfer-leader)");
            }
            members.remove(id);
            if (members.size() < 2) {
                throw new Refused("refused: the group would have one node left, which no failure leaves a majority "
                        + "of; add a node first");
            }
            List<String> answering = answering();
            long up = members.keySet().stream().filter(answering::contains).count();
            if (up * 2 <= members.size()) {
                throw new Refused("refused: without " + id + " the group would lose its majority: of "
                        + String.join(", ", members.keySet()) + " only " + up + " answer");
            }
            return id + " left the group";
        });
    }

    /** The members the leader (this node) has heard from within {@link #SILENCE}, itself included. */
    private List<String> answering() {
        List<String> up = new ArrayList<>(List.of(config.nodeId()));
        try {
            RoleInfoProto role = server.getDivision(GROUP_ID).getInfo().getRoleInfoProto();
            for (ServerRpcProto f : role.getLeaderInfo().getFollowerInfoList()) {
                if (f.getLastRpcElapsedTimeMs() <= SILENCE.toLong(TimeUnit.MILLISECONDS)) {
                    up.add(f.getId().getId().toStringUtf8());
                }
            }
        } catch (IOException e) {
            // only itself
        }
        return up;
    }

    /** A change of the members: given the members now, makes them what they are to be, or refuses; says what it did. */
    private interface Change {
        String apply(Map<String, String> members) throws Refused;
    }

    /**
     * One change of the members at a time, on the leader, through Ratis in process ({@code setConfiguration}: a node
     * added catches up first, as a non-voting member, then the group commits the new configuration with the old and
     * the new majority both; the Raft port's own admin service is never served). Completes once the new members are
     * committed.
     */
    private CompletableFuture<String> reconfigure(Change change) {
        if (!leading) {
            return refused("node " + config.nodeId() + " does not lead the group" + (leaderNode() == null ? ""
                    : "; " + leaderNode() + " does"));
        }
        RaftServer.Division d;
        try {
            d = server.getDivision(GROUP_ID);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new Refused("failed: " + e.getMessage()));
        }
        if (!d.getRaftConf().getPreviousPeers().isEmpty() || !changing.compareAndSet(false, true)) {
            return refused("a change of the members is under way; one at a time");
        }
        Map<String, String> members = members(d);
        String said;
        try {
            said = change.apply(members);
        } catch (Refused r) {
            changing.set(false);
            return CompletableFuture.failedFuture(r);
        }
        List<RaftPeer> next = new ArrayList<>();
        members.forEach((id, address) -> next.add(RaftPeer.newBuilder().setId(id).setAddress(address).build()));
        long startedAt = System.nanoTime();
        CompletableFuture<RaftClientReply> reply;
        try {
            reply = server.setConfigurationAsync(new SetConfigurationRequest(proposer, self, GROUP_ID, ++callId, next));
        } catch (IOException e) {
            changing.set(false);
            return CompletableFuture.failedFuture(new Refused("failed: " + e.getMessage()));
        }
        return reply.handle((r, failure) -> {
            changing.set(false);
            Throwable why = failure != null ? failure : r.getException();
            if (why != null) {
                throw new java.util.concurrent.CompletionException(new Refused("failed: " + why.getMessage()));
            }
            log.info("{} (members now {}, in {} ms)", said, members.keySet(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt));
            return said + "; the members are now " + String.join(", ", members.keySet());
        });
    }

    private static CompletableFuture<String> refused(String why) {
        return CompletableFuture.failedFuture(new Refused("refused: " + why));
    }

    /** One node leaves: the group carries on, and this node's clients resume on the next leader. */
    @Override
    public void leaving(String why) {
    }

    /**
     * Ready (null) on a leader that has taken over and hears from a majority, and on a follower that hears from its
     * leader and has applied everything it knows committed; else why not. Ratis's view, read now, on any thread.
     */
    @Override
    public String notReady() {
        RaftServer.Division d;
        try {
            d = server == null ? null : server.getDivision(GROUP_ID);
        } catch (IOException e) {
            d = null;
        }
        if (d == null) {
            return "the Raft server is not running";
        }
        return readiness(d.getInfo().getRoleInfoProto(), leading, members(d).size(),
                d.getRaftLog().getLastCommittedIndex(), d.getInfo().getLastAppliedIndex());
    }

    /**
     * The decision of {@link #notReady}, from Ratis's view of this node's role ({@code taken}: a leader has taken
     * over), the group's size and how far this node has applied what it knows committed.
     */
    static String readiness(RoleInfoProto role, boolean taken, int members, long committed, long applied) {
        long silence = SILENCE.toLong(TimeUnit.MILLISECONDS);
        if (role.hasLeaderInfo()) {
            if (!taken) {
                return "elected leader, taking over";
            }
            int heard = 1; // itself
            for (ServerRpcProto f : role.getLeaderInfo().getFollowerInfoList()) {
                if (f.getLastRpcElapsedTimeMs() <= silence) {
                    heard++;
                }
            }
            return heard * 2 > members ? null
                    : "leader, but it has heard from only " + heard + " of " + members + " nodes "
                    + "(itself included) within " + silence + " ms";
        }
        if (!role.hasFollowerInfo() || role.getFollowerInfo().getLeaderInfo().getId().getId().isEmpty()) {
            return "no leader is known (" + role.getRole().name().toLowerCase() + ")";
        }
        ServerRpcProto l = role.getFollowerInfo().getLeaderInfo();
        String leaderId = l.getId().getId().toStringUtf8();
        if (l.getLastRpcElapsedTimeMs() > silence) {
            return "the leader " + leaderId + " was last heard " + l.getLastRpcElapsedTimeMs() + " ms ago";
        }
        return applied >= committed ? null
                : "catching up: " + applied + " of " + committed + " committed entries applied";
    }

    /**
     * Who leads, and, on the leader, how far each follower's log reaches and when it was last heard: Ratis's view,
     * read now.
     */
    @Override
    public GroupStatus groupStatus() {
        RaftServer.Division d;
        try {
            d = server.getDivision(GROUP_ID);
        } catch (IOException e) {
            return new GroupStatus(config.nodeId(), "", 0, 0, List.of());
        }
        long commit = d.getRaftLog().getLastCommittedIndex();
        Map<String, long[]> followers = new HashMap<>(); // id -> {match index, ms since last heard}
        RoleInfoProto role = d.getInfo().getRoleInfoProto();
        if (role.hasLeaderInfo()) {
            long[] match = d.getInfo().getFollowerMatchIndices();
            List<ServerRpcProto> infos = role.getLeaderInfo().getFollowerInfoList();
            for (int i = 0; i < infos.size() && i < match.length; i++) {
                followers.put(infos.get(i).getId().getId().toStringUtf8(),
                        new long[]{match[i], infos.get(i).getLastRpcElapsedTimeMs()});
            }
        }
        String leaderId = leaderNode() == null ? "" : leaderNode();
        List<Member> members = new ArrayList<>();
        for (Map.Entry<String, String> p : members(d).entrySet()) {
            String id = p.getKey();
            boolean leads = id.equals(leaderId);
            long[] f = followers.get(id);
            String memberRole = leads ? "leader"
                    : f != null && f[1] > SILENCE.toLong(TimeUnit.MILLISECONDS) ? "unreachable" : "follower";
            members.add(new Member(id, p.getValue(),
                    leads && id.equals(config.nodeId()) ? clientAddress : "", memberRole,
                    leads && id.equals(config.nodeId()) ? d.getRaftLog().getFlushIndex() : f == null ? -1 : f[0],
                    f == null ? -1 : f[1]));
        }
        return new GroupStatus(config.nodeId(), leaderId, d.getInfo().getCurrentTerm(),
                commit, members);
    }

    // ---- leadership ----------------------------------------------------------------------------------------------

    /**
     * The group's time now. On the leader: the time it took over at — the latest stamp committed before its term —
     * plus what its monotonic clock measured since; so time never goes back, no wall clock (of any node) moves it, and
     * a failover makes it lag by the time without a leader, never run ahead. Elsewhere: the latest stamp applied.
     */
    @Override
    public long now() {
        return timing ? tookOverAtMillis + (driver.localMillis() - tookOverLocalMillis) : driver.appliedMillis();
    }

    /** At most this long between two entries while a deadline waits: how stale a successor's starting time can be. */
    @Override
    public long clockEntryEveryMillis() {
        return CLOCK_ENTRY_EVERY_MILLIS;
    }

    /** This node leads, and has applied everything committed before its term: it takes over. */
    void leaderReady() {
        driver.executor().execute(() -> {
            leader = self;
            tookOverAtMillis = driver.appliedMillis();
            tookOverLocalMillis = driver.localMillis();
            timing = true;
            driver.tookOver(new Input.Leader(config.nodeId(), clientAddress));
            leading = true;
            log.info("node {} leads the group; clients are served at {}", config.nodeId(), clientAddress);
        });
    }

    /** Ratis says {@code newLeader} leads now (null: not known, or not this node any more). */
    void leaderChanged(RaftPeerId newLeader) {
        RaftPeerId before = leader;
        leader = newLeader;
        if (newLeader != null && !newLeader.equals(before)) {
            driver.metrics().raftLeaderChanges.inc();
        }
        if (!self.equals(newLeader)) {
            driver.executor().execute(() -> {
                timing = false;
                pendingArrivals.clear();
                if (leading) {
                    leading = false;
                    log.info("node {} no longer leads the group (leader: {})", config.nodeId(),
                            newLeader == null ? "none yet" : newLeader);
                    driver.leadershipLost();
                }
            });
        }
    }
}
