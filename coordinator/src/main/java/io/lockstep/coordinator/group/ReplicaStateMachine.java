package io.lockstep.coordinator.group;

import io.lockstep.coordinator.core.BoundedReader;
import io.lockstep.coordinator.core.CoordinatorState;
import io.lockstep.coordinator.server.Applier;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The coordinator's state as Ratis's state machine: every committed log entry (a batch of inputs) is applied to this
 * node's {@link CoordinatorState} through its {@link Applier}, on the applier's executor — so the state stays
 * confined to one thread, and entries are applied in log order. Only the leader holds client connections, so only it
 * turns what applying produces into frames. Snapshots are the state's own ({@link CoordinatorState#writeSnapshot}).
 *
 * <p>Ratis calls it from its own threads; every touch of the state hops onto the driver's executor.
 */
final class ReplicaStateMachine extends BaseStateMachine {

    private static final Logger log = LoggerFactory.getLogger(ReplicaStateMachine.class);
    private static final Message APPLIED = Message.EMPTY;

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private volatile SingleFileSnapshotInfo latest;
    private final Applier driver;
    /** The node's data directory: where a restored state is kept ({@link Restore}). */
    private final java.nio.file.Path dataDir;
    private final ReplicatedLog commands;
    /** The only client whose requests become log entries: this node's own {@link ReplicatedLog}, in process. */
    private final ClientId proposer;

    ReplicaStateMachine(Applier driver, ReplicatedLog commands, ClientId proposer, java.nio.file.Path dataDir) {
        this.driver = driver;
        this.dataDir = dataDir;
        this.commands = commands;
        this.proposer = proposer;
    }

    /**
     * On the leader, before a request becomes a log entry: only this node's own proposals do. Ratis's client service
     * is not served on the Raft port at all ({@link PeerServicesOnly}); this holds even if it were.
     */
    @Override
    public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
        TransactionContext trx = super.startTransaction(request);
        if (!proposer.equals(request.getClientId())) {
            trx.setException(new IOException("refused: only a Lockstep node's own proposals enter its group's log"));
        }
        return trx;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        latest = storage.getLatestSnapshot();
        load(latest);
        if (latest == null) {
            loadRestored();
        }
        getLifeCycle().transition(LifeCycle.State.STARTING);
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    /** Before the leader installs a snapshot here: Ratis then waits for PAUSED, and calls {@link #reinitialize}. */
    @Override
    public void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    @Override
    public void reinitialize() throws IOException {
        latest = storage.loadLatestSnapshot(); // the snapshot the leader installed here: read the directory again
        load(latest);
        getLifeCycle().transition(LifeCycle.State.STARTING);
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    /**
     * The latest snapshot, as this state machine last took, loaded or was given it. Ratis asks before every append
     * it sends; the storage would read the snapshot directory each time while there is no snapshot yet (a tenth of
     * a node's CPU, measured).
     */
    @Override
    public SingleFileSnapshotInfo getLatestSnapshot() {
        return latest;
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        TermIndex at = TermIndex.valueOf(entry);
        InputCodec.Batch batch;
        try {
            batch = InputCodec.decode(entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
        } catch (BoundedReader.Malformed | RuntimeException | Error e) { // the last two: a bug in the decoder
            // Every replica fails alike on the same bytes; skipping keeps them alike.
            log.error("log entry {} does not decode ({} bytes): {}; skipped", at,
                    entry.getStateMachineLogEntry().getLogData().size(), e.toString());
            driver.executor().execute(() -> {
                driver.metrics().badEntries.inc();
                updateLastAppliedTermIndex(at);
            });
            return CompletableFuture.completedFuture(APPLIED);
        }
        CompletableFuture<Message> done = new CompletableFuture<>();
        driver.executor().execute(() -> {
            try {
                if (commands.apply(batch.inputs(), batch.stampMillis(), at) > 0) {
                    driver.metrics().badEntries.inc();
                }
            } finally {
                updateLastAppliedTermIndex(at);
                done.complete(APPLIED);
            }
        });
        return done;
    }

    /** Entries with no inputs (the group's own) advance the applied index in the same order as those with. */
    @Override
    public void notifyTermIndexUpdated(long term, long index) {
        driver.executor().execute(() -> updateLastAppliedTermIndex(term, index));
    }

    @Override
    public long takeSnapshot() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TermIndex last;
        try {
            // The state and its index, taken together on the executor; the file is written here, off it.
            last = driver.executor().submit(() -> {
                driver.writeSnapshot(new DataOutputStream(bytes));
                return getLastAppliedTermIndex();
            }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while taking a snapshot");
        } catch (ExecutionException e) {
            throw new IOException("cannot take a snapshot: " + e.getCause(), e.getCause());
        }
        if (last == null) {
            return RaftLog.INVALID_LOG_INDEX;
        }
        File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        Files.write(file.toPath(), bytes.toByteArray());
        MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
        SingleFileSnapshotInfo taken = new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last);
        storage.updateLatestSnapshot(taken);
        latest = taken;
        log.debug("snapshot at {}: {} bytes", last, bytes.size());
        return last.getIndex();
    }

    /**
     * Loads {@code snapshot} into the state. A file that is not a snapshot this node can use (a digest that does not
     * match, bytes that do not decode) fails with one line naming the file: the node does not start on it.
     */
    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null || !Files.exists(snapshot.getFile().getPath())) {
            return;
        }
        File file = snapshot.getFile().getPath().toFile();
        try {
            // Against the digest saved beside it when it was taken (Ratis's own listing of snapshots reads none).
            MD5Hash saved = MD5FileUtil.readStoredMd5ForFile(file);
            if (saved != null && !saved.equals(MD5FileUtil.computeMd5ForFile(file))) {
                throw new IOException("its MD5 digest is not the one saved beside it when it was taken ("
                        + MD5FileUtil.getDigestFileForFile(file).getName() + ")");
            }
            driver.loadSnapshot(new BoundedReader(Files.readAllBytes(file.toPath())));
        } catch (IOException e) {
            throw new UnusableSnapshot("cannot start from the snapshot " + file + ": " + e.getMessage(), e);
        }
        TermIndex at = SimpleStateMachineStorage.getTermIndexFromSnapshotFile(file);
        driver.executor().submit(() -> updateLastAppliedTermIndex(at)).syncUninterruptibly();
        log.info("loaded the snapshot at {}", at);
    }

    /** A group started with {@code --restore}, before its first snapshot: the restored state is where it starts. */
    private void loadRestored() throws IOException {
        byte[] base = Restore.base(dataDir);
        if (base == null) {
            return;
        }
        try {
            driver.loadSnapshot(new BoundedReader(base));
        } catch (BoundedReader.Malformed e) {
            throw new UnusableSnapshot("cannot start from the restored state " + dataDir.resolve(Restore.BASE) + ": "
                    + e.getMessage(), e);
        }
        log.info("started from the restored state in {}", dataDir.resolve(Restore.BASE));
    }

    /** A snapshot this node cannot start from; its message names the file and says why. */
    static final class UnusableSnapshot extends IOException {
        UnusableSnapshot(String message, Throwable cause) {
            super(message, cause);
        }
    }

    @Override
    public void notifyLeaderReady() {
        commands.leaderReady();
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId member, RaftPeerId leader) {
        commands.leaderChanged(leader);
    }

    @Override
    public void notifyNotLeader(java.util.Collection<TransactionContext> pending) {
        commands.leaderChanged(null);
    }
}
