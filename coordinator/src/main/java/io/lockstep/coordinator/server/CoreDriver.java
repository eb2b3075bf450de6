package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.coordinator.core.BarrierView;
import io.lockstep.coordinator.core.BoundedReader;
import io.lockstep.coordinator.core.Command;
import io.lockstep.coordinator.core.CoordinatorState;
import io.lockstep.coordinator.core.Input;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;
import io.netty.channel.ChannelFutureListener;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * Connects the coordinator's state to the network, on one executor: turns what connections say into
 * {@link Input}s for the {@link CommandLog} (which applies them at once, or after a group has ordered them), applies
 * what the log hands back ({@link Applier}), and keeps one timer armed at the state's next deadline. What applying
 * produces goes out through {@link ServedSessions}, which holds the sessions served here.
 *
 * <p>Every method runs its work on the core's executor; they may be called from any thread.
 */
public final class CoreDriver implements Applier {

    private static final Logger log = LoggerFactory.getLogger(CoreDriver.class);
    private static final Input.Tick TICK = new Input.Tick();

    private final BarrierCore.Limits limits;
    private final String unknownSession;
    /** Replaced as a whole when a snapshot is loaded. */
    private CoordinatorState state;
    private final EventExecutor executor;
    /** This node's monotonic clock: what {@link CommandLog#now} reads; never the wall clock. */
    private final LongSupplier localClock;
    private final SessionPolicy policy;
    private final SecureRandom random = new SecureRandom();
    private final CommandLog commands;
    /** The sessions served here and the frames written to them: where the state's outputs go. */
    private final ServedSessions served;
    private final Metrics metrics;
    /** Snapshots for the metrics gauges, written on the core's thread after every input. */
    private volatile int sessionCount;
    private volatile int barrierCount;
    private IntSupplier connectionCount = () -> 0;
    private ScheduledFuture<?> timer;
    private long timerAt = BarrierCore.NO_DEADLINE;
    private boolean shutDown;

    /** @param commands where inputs go; started with this driver as its {@link Applier} by the server */
    public CoreDriver(EventExecutor executor, LongSupplier localClock, BarrierCore.Limits limits,
                      SessionPolicy policy, ServerConfig.ConnectionLimits connectionLimits, String coordinatorName,
                      int maxFrameBytes, CommandLog commands) {
        this.limits = limits;
        this.unknownSession = "is unknown to this coordinator, which started at " + Instant.now()
                + ": it restarted and its state was lost, or the session ended long ago";
        this.state = new CoordinatorState(limits, unknownSession);
        this.executor = executor;
        this.localClock = localClock;
        this.policy = policy;
        this.metrics = new Metrics(() -> sessionCount, () -> barrierCount, () -> connectionCount.getAsInt());
        this.commands = commands;
        this.served = new ServedSessions(executor, this::now, () -> state, policy, connectionLimits, coordinatorName,
                maxFrameBytes, metrics);
    }

    /** Where the connection gauge reads from (the server's connection limiter). */
    void countConnectionsWith(IntSupplier connections) {
        this.connectionCount = connections;
    }

    @Override
    public Metrics metrics() {
        return metrics;
    }

    /** Sessions held (connected, or cut and within their lease), as of the last input. */
    public int sessionCount() {
        return sessionCount;
    }

    /** Why clients should not be sent here now (see {@link CommandLog#notReady}), or null. Any thread. */
    public String notReady() {
        return shutDown ? "shutting down" : commands.notReady();
    }

    /** True until shutdown begins. */
    public boolean isServing() {
        return !shutDown;
    }

    @Override
    public long localMillis() {
        return localClock.getAsLong();
    }

    @Override
    public long appliedMillis() {
        return state.now();
    }

    /** The time on the state's timeline now (see {@link CommandLog#now}): every timing decision here reads it. */
    private long now() {
        return commands.now();
    }

    @Override
    public EventExecutor executor() {
        return executor;
    }

    /** What this node is, after "ok" in /health (see {@link CommandLog#role}). */
    public Future<String> role() {
        return executor.submit(commands::role);
    }

    /** A snapshot of one barrier (null if not held), taken on the core's thread. */
    public Future<BarrierView> view(String name) {
        return executor.submit(() -> state.view(name, now()));
    }

    /** A snapshot of every barrier, taken on the core's thread. */
    public Future<List<BarrierView>> views() {
        return executor.submit(() -> state.views(now()));
    }

    private void onCore(Runnable task) {
        if (executor.inEventLoop()) {
            task.run();
        } else {
            executor.execute(task);
        }
    }

    // ---- from connections ----------------------------------------------------------------------------------------

    /** A valid HELLO: resumes the session it names if it can, else opens a new one; WELCOME follows when applied. */
    void hello(Link link, Message.Hello hello) {
        onCore(() -> {
            if (shutDown) {
                link.channel.writeAndFlush(new Message.Error(0, ErrorCode.SHUTTING_DOWN, "coordinator is shutting "
                        + "down")).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            if (!commands.accepting()) {
                link.channel.writeAndFlush(new Message.Error(0, ErrorCode.NOT_LEADER, commands.elsewhere()))
                        .addListener(ChannelFutureListener.CLOSE);
                return;
            }
            long id;
            do {
                id = random.nextLong() & Long.MAX_VALUE;
            } while (id == 0 || state.isOpen(id));
            served.handshaking(link);
            commands.submit(new Input.Hello(link.token, hello.clientName(), hello.resumeSession(), hello.received(),
                    id, policy.grant(hello.leaseMillis())), now());
        });
    }

    /**
     * A counted request frame of the connection's session. On the per-message path: with one I/O thread the
     * connection's loop is the core's, and the request is submitted at once, without a task.
     */
    void request(Link link, Message.Request request) {
        if (executor.inEventLoop()) {
            submitRequest(link, request);
        } else {
            executor.execute(() -> submitRequest(link, request));
        }
    }

    private void submitRequest(Link link, Message.Request request) {
        ServerSession s = link.session; // set when the handshake was applied, earlier on this thread
        if (s == null) {
            return; // refused, moved or ended; the client will resume on its new connection
        }
        long now = now();
        s.lastHeard = now;
        commands.submit(new Input.Request(s.id, s.nextRequest++, request), now);
    }

    /** A heartbeat: acknowledges answers, answered by PONG with the requests received. */
    void ping(Link link, long clientReceived) {
        onCore(() -> {
            ServerSession s = heard(link, clientReceived);
            if (s != null) {
                s.toldReceived = state.received(s.id);
                link.channel.writeAndFlush(new Message.Pong(s.toldReceived), link.channel.voidPromise());
            }
        });
    }

    /** GROUP: what this node knows of its group, answered at once (not counted, like PONG). */
    void group(Link link) {
        onCore(() -> {
            if (link.session != null) {
                link.channel.writeAndFlush(commands.groupStatus(), link.channel.voidPromise());
            }
        });
    }

    /** Admin requests under way (a transfer of the lead, a change of the members), by the connection that asked. */
    private final java.util.Map<Link, Message.Admin> transfers = new java.util.HashMap<>();

    /** The most snapshot bytes in one ADMIN_RESULT frame: far below any frame limit a client may have. */
    private static final int SNAPSHOT_PART_BYTES = 256 * 1024;

    /** ADMIN (the connection handler has checked the caller may ask): done here, or by the log. */
    void admin(Link link, Message.Admin admin) {
        onCore(() -> {
            if (link.session == null) {
                return;
            }
            switch (admin.op()) {
                case SNAPSHOT -> sendSnapshot(link, admin.id());
                case TRANSFER_LEADER -> answerWhenDone(link, admin, commands.transferLeadership(admin.argument()));
                case ADD_MEMBER -> answerWhenDone(link, admin, commands.addMember(admin.argument()));
                case REMOVE_MEMBER -> answerWhenDone(link, admin, commands.removeMember(admin.argument()));
            }
        });
    }

    /**
     * Answers {@code admin} when {@code done} completes, unless this node stepped down first: then it was answered
     * already ({@link #leadershipLost}), before its connection was ended.
     */
    private void answerWhenDone(Link link, Message.Admin admin, java.util.concurrent.CompletableFuture<String> done) {
        transfers.put(link, admin);
        done.whenComplete((said, failed) -> onCore(() -> {
            if (transfers.remove(link) == null) {
                return;
            }
            Throwable why = failed instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                    ? c.getCause() : failed;
            link.channel.writeAndFlush(new Message.AdminResult(admin.id(), why == null, why == null ? said
                    : why instanceof CommandLog.Refused ? why.getMessage() : "failed: " + why, 0, new byte[0]),
                    link.channel.voidPromise());
        }));
    }

    /**
     * The whole state as this node has applied it, as a snapshot (what {@code --restore} starts a group from), in
     * parts; only where inputs are applied as they come (the leader, or a single coordinator), so it holds
     * everything acknowledged to any client.
     */
    private void sendSnapshot(Link link, long id) {
        if (!commands.accepting()) {
            link.channel.writeAndFlush(new Message.AdminResult(id, false, "refused: this node does not lead its "
                    + "group; ask the leader (" + commands.elsewhere() + ")", 0, new byte[0]), link.channel.voidPromise());
            return;
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try {
            state.writeSnapshot(new java.io.DataOutputStream(bytes));
        } catch (java.io.IOException e) {
            link.channel.writeAndFlush(new Message.AdminResult(id, false, "failed: " + e, 0, new byte[0]),
                    link.channel.voidPromise());
            return;
        }
        byte[] all = bytes.toByteArray();
        int parts = Math.max(1, (all.length + SNAPSHOT_PART_BYTES - 1) / SNAPSHOT_PART_BYTES);
        String said = all.length + " bytes: " + state.sessionCount() + " sessions, " + state.barrierCount()
                + " barriers";
        for (int i = 0; i < parts; i++) {
            int from = i * SNAPSHOT_PART_BYTES;
            byte[] part = java.util.Arrays.copyOfRange(all, from, Math.min(all.length, from + SNAPSHOT_PART_BYTES));
            link.channel.write(new Message.AdminResult(id, true, said, parts - 1 - i, part), link.channel.voidPromise());
        }
        link.channel.flush();
    }

    /**
     * An ACK: acknowledges answers and wants no answer. Clients write one ahead of their requests, so it is on the
     * per-message path: no task when the connection's loop is the core's.
     */
    void ack(Link link, long clientReceived) {
        if (executor.inEventLoop()) {
            heard(link, clientReceived);
        } else {
            executor.execute(() -> heard(link, clientReceived));
        }
    }

    /**
     * The connection's client was heard and acknowledges {@code clientReceived} answers (PING, ACK). Returns its
     * session, or null if the connection carries none.
     */
    private ServerSession heard(Link link, long clientReceived) {
        ServerSession s = link.session;
        if (s == null) {
            return null;
        }
        long now = now();
        s.lastHeard = now;
        if (clientReceived > s.acknowledged) {
            s.acknowledged = clientReceived;
            commands.submit(new Input.Ack(s.id, clientReceived), now);
        }
        return s;
    }

    /** The client ends its session: no lease. {@code exiting}: its process is ending (see {@link Message.Goodbye}). */
    void goodbye(Link link, boolean exiting) {
        onCore(() -> {
            ServerSession s = link.session;
            if (s != null) {
                commands.submit(new Input.Close(s.id, exiting ? "its process is exiting" : "its client closed it",
                        exiting), now());
            }
        });
    }

    /**
     * The connection closed or was found dead: the session, if still on it, has its lease to come back, or only the
     * reconnect grace if {@code closedByPeer} (FIN or RST from the client's side) while its client was being heard.
     */
    void channelClosed(Link link, String how, boolean closedByPeer) {
        onCore(() -> {
            transfers.remove(link);
            ServerSession s = link.session;
            if (served.closed(link) || s == null) {
                return;
            }
            long now = now();
            boolean grace = closedByPeer && policy.closedWhileHeard(s.lastHeard, now, s.leaseMillis)
                    && policy.reconnectGraceMillis() < s.leaseMillis;
            log.info("session {} of '{}' cut off ({}); it has {} to come back", s.id, s.clientName, how,
                    seconds(grace ? policy.reconnectGraceMillis() : s.leaseMillis - (now - s.lastHeard)));
            commands.submit(new Input.Cut(s.id, s.lastHeard, grace ? policy.reconnectGraceMillis()
                    : Command.Disconnect.SILENT), now);
        });
    }

    /**
     * Breaks every waiter with {@code why}, answers every connection with a final SHUTTING_DOWN error and closes
     * it. Completes when that is done.
     */
    public Future<?> shutdown(String why) {
        return executor.submit(() -> {
            if (shutDown) {
                return;
            }
            commands.leaving(why);
            shutDown = true;
            if (timer != null) {
                timer.cancel(false);
            }
            served.stop();
            served.endAll(ErrorCode.SHUTTING_DOWN, why);
        });
    }

    // ---- from the log ---------------------------------------------------------------------------------------------

    /**
     * This node now leads its group: it says so through the log, and every session the old leader served — whose
     * connections died with it, or went to it — starts its lease now: a cut, never a client that left.
     */
    @Override
    public void tookOver(Input.Leader self) {
        long now = now();
        commands.submit(self, now);
        for (long session : state.connectedSessions()) {
            commands.submit(new Input.Cut(session, now, Command.Disconnect.SILENT), now);
        }
        metrics.leaderChanges.inc();
    }

    @Override
    public void leadershipLost() {
        // A transfer asked for here is done when this node steps down: say so before the connection is ended (any
        // other request still under way is left to whoever leads next to finish or not: its asker looks).
        transfers.forEach((link, admin) -> link.channel.write(admin.op() == Message.AdminOp.TRANSFER_LEADER
                ? new Message.AdminResult(admin.id(), true, "node " + admin.argument() + " was asked to lead, and "
                        + "this node no longer leads", 0, new byte[0])
                : new Message.AdminResult(admin.id(), false, "this node stopped leading before the change was "
                        + "committed; ask the group (status) whether it was", 0, new byte[0]),
                link.channel.voidPromise()));
        transfers.clear();
        served.endAll(ErrorCode.NOT_LEADER, commands.elsewhere());
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        timerAt = BarrierCore.NO_DEADLINE;
    }

    @Override
    public int applyEntry(List<Input> inputs, long stampMillis, Object entry) {
        int failed = 0;
        for (int i = 0; i < inputs.size(); i++) {
            if (!applied(inputs.get(i), stampMillis, entry)) {
                failed++;
            }
        }
        return failed;
    }

    @Override
    public int stillToArrive(String barrier) {
        return state.stillToArrive(barrier);
    }

    @Override
    public Input.Leader announcedLeader() {
        return state.leader();
    }

    @Override
    public void writeSnapshot(java.io.DataOutput out) throws java.io.IOException {
        state.writeSnapshot(out);
    }

    @Override
    public void loadSnapshot(BoundedReader in) throws BoundedReader.Malformed {
        CoordinatorState loaded;
        try {
            loaded = CoordinatorState.readSnapshot(in, limits, unknownSession);
        } catch (RuntimeException e) { // a bug in the decoder; still only a snapshot that cannot be used
            throw new BoundedReader.Malformed(e.toString());
        }
        executor.submit(() -> {
            state = loaded;
            sessionCount = state.sessionCount();
            barrierCount = state.barrierCount();
        }).syncUninterruptibly();
    }

    // ---- applying inputs -----------------------------------------------------------------------------------------

    @Override
    public void apply(Input input, long stampMillis) {
        applied(input, stampMillis, null);
    }

    /** As {@link #apply}; false if applying it failed (logged, naming {@code entry} if not null). */
    private boolean applied(Input input, long stampMillis, Object entry) {
        // Applied even while this node shuts down: a node of a group keeps its state equal to its log until the log
        // stops (the snapshot it takes as it stops claims everything applied, and a state that skipped inputs would
        // serve wrong answers once it leads); nothing it produces reaches a connection any more.
        boolean ok = true;
        try {
            state.apply(input, stampMillis, served);
        } catch (RuntimeException | Error e) {
            // A bug in the core must not take the coordinator down (in a group, every replica fails alike on the
            // same input and carries on alike); it is loud so it gets fixed.
            log.error("coordinator state failed on {}{}", input, entry == null ? "" : " of log entry " + entry, e);
            ok = false;
        }
        List<Input> followUps = served.flushWritten();
        armTimer();
        sessionCount = state.sessionCount();
        barrierCount = state.barrierCount();
        for (int i = 0; i < followUps.size(); i++) {
            commands.submit(followUps.get(i), now());
        }
        return ok;
    }

    private void armTimer() {
        long next = state.nextDeadline();
        if (next == BarrierCore.NO_DEADLINE || !commands.accepting() || shutDown) {
            return; // nothing to time, or another node ticks, or this one is stopping
        }
        long now = now();
        // A log whose time a successor continues ticks at least every clockEntryEveryMillis while a deadline waits.
        long every = commands.clockEntryEveryMillis();
        long at = every >= next - now ? next : now + every;
        if (at >= timerAt) {
            return; // the armed timer fires no later than needed (an early tick costs nothing)
        }
        if (timer != null) {
            timer.cancel(false);
        }
        timerAt = at;
        timer = executor.schedule(this::onTimer, Math.max(0, at - now), TimeUnit.MILLISECONDS);
    }

    private void onTimer() {
        timer = null;
        timerAt = BarrierCore.NO_DEADLINE;
        commands.submit(TICK, now());
    }

    private static String seconds(long millis) {
        return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }
}
