package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.coordinator.core.BarrierView;
import io.lockstep.coordinator.core.BoundedReader;
import io.lockstep.coordinator.core.Command;
import io.lockstep.coordinator.core.CoordinatorState;
import io.lockstep.coordinator.core.Effect;
import io.lockstep.coordinator.core.Input;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.collection.LongObjectMap;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * Connects the coordinator's state to the network, on one executor: turns what connections say into
 * {@link Input}s for the {@link CommandLog} (which applies them at once, or after a group has ordered them), and
 * what applying them produces ({@link CoordinatorState.Outputs}) into frames on the right connection. It holds the
 * sessions served by this node — their connections, when each client was last heard — keeps one timer armed at the
 * state's next deadline, and sweeps for silent connections.
 *
 * <p>Every method runs its work on the core's executor; they may be called from any thread. Frames written
 * while one input is applied are flushed once per channel when it is done.
 */
public final class CoreDriver implements CoordinatorState.Outputs {

    private static final Logger log = LoggerFactory.getLogger(CoreDriver.class);
    private static final Input.Tick TICK = new Input.Tick();
    /** Handshakes whose connection closed before the handshake was applied, remembered at most. */
    private static final int ABANDONED_REMEMBERED = 10_000;

    private final BarrierCore.Limits limits;
    private final String unknownSession;
    /** Replaced as a whole when a snapshot is loaded. */
    private CoordinatorState state;
    private final EventExecutor executor;
    /** This node's monotonic clock: what {@link CommandLog#now} reads; never the wall clock. */
    private final LongSupplier localClock;
    private final SessionPolicy policy;
    private final ServerConfig.ConnectionLimits connectionLimits;
    private final String coordinatorName;
    private final int maxFrameBytes;
    private final SecureRandom random = new SecureRandom();
    private final CommandLog commands;
    /**
     * Sessions connected to this node, by id. Looked up once per answer on the release fan-out: a primitive-keyed
     * open-addressing map (no boxed key, no node per entry) touches fewer cold cache lines per party than a
     * {@code HashMap<Long, ...>}.
     */
    private final LongObjectMap<ServerSession> sessions = new LongObjectHashMap<>();
    /** In a group, on its leader: arrivals submitted to the log and not applied yet, by barrier. */
    private final Map<String, Integer> pendingArrivals = new HashMap<>();
    /** Connections whose handshake is submitted and not yet applied, by {@link Link#token}. */
    private final LongObjectMap<Link> handshakes = new LongObjectHashMap<>();
    /** Tokens of handshakes whose connection closed before they were applied. */
    private final Map<Long, Boolean> abandoned = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
            return size() > ABANDONED_REMEMBERED;
        }
    };
    /** Sessions written to during the current input; each is flushed once when it is done. */
    private final List<ServerSession> toFlush = new ArrayList<>();
    /** Inputs that applying the current one calls for; submitted after it, never nested inside it. */
    private final List<Input> followUps = new ArrayList<>();
    private final Metrics metrics;
    /** Snapshots for the metrics gauges, written on the core's thread after every input. */
    private volatile int sessionCount;
    private volatile int barrierCount;
    private IntSupplier connectionCount = () -> 0;
    private ScheduledFuture<?> timer;
    private long timerAt = BarrierCore.NO_DEADLINE;
    /** The sweep for silent connections, and its period: armed while any session is connected. */
    private ScheduledFuture<?> silenceCheck;
    private int silenceCheckMillis;
    private boolean shutDown;

    /**
     * @param commands makes the log inputs go through, given this driver (a single node: {@code CommandLog.Local::new})
     */
    public CoreDriver(EventExecutor executor, LongSupplier localClock, BarrierCore.Limits limits,
                      SessionPolicy policy, ServerConfig.ConnectionLimits connectionLimits, String coordinatorName,
                      int maxFrameBytes, Function<CoreDriver, CommandLog> commands) {
        this.limits = limits;
        this.unknownSession = "is unknown to this coordinator, which started at " + Instant.now()
                + ": it restarted and its state was lost, or the session ended long ago";
        this.state = new CoordinatorState(limits, unknownSession);
        this.connectionLimits = connectionLimits;
        this.executor = executor;
        this.localClock = localClock;
        this.policy = policy;
        this.coordinatorName = coordinatorName;
        this.maxFrameBytes = maxFrameBytes;
        this.metrics = new Metrics(() -> sessionCount, () -> barrierCount, () -> connectionCount.getAsInt());
        this.commands = commands.apply(this);
    }

    /** Where the connection gauge reads from (the server's connection limiter). */
    void countConnectionsWith(IntSupplier connections) {
        this.connectionCount = connections;
    }

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

    /** This node's monotonic clock, in milliseconds (its origin means nothing). */
    public long localMillis() {
        return localClock.getAsLong();
    }

    /** The time of the inputs applied here so far: the latest stamp (a single coordinator's: its clock's). */
    public long appliedMillis() {
        return state.now();
    }

    /** The time on the state's timeline now (see {@link CommandLog#now}): every timing decision here reads it. */
    private long now() {
        return commands.now();
    }

    /** Where this driver's inputs go. */
    CommandLog commandLog() {
        return commands;
    }

    /** The one thread the state lives on. */
    public EventExecutor executor() {
        return executor;
    }

    /**
     * What this node is, after "ok" in /health: nothing for a single coordinator; in a group, whether it leads, and
     * if not, which node does and where its clients go.
     */
    public Future<String> role() {
        return executor.submit(() -> {
            if (!commands.isGroup()) {
                return "";
            }
            if (commands.accepting()) {
                Input.Leader self = state.leader();
                return ": leader" + (self == null ? "" : " " + self.node() + ", serving clients at " + self.clientAddress());
            }
            String node = commands.leaderNode();
            String at = leaderHint();
            return ": follower; " + (node == null ? "no leader is known yet"
                    : "the leader is " + node + (at.isEmpty() ? "" : ", serving clients at " + at));
        });
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
                link.channel.writeAndFlush(new Message.Error(0, ErrorCode.NOT_LEADER, leaderHint()))
                        .addListener(ChannelFutureListener.CLOSE);
                return;
            }
            long id;
            do {
                id = random.nextLong() & Long.MAX_VALUE;
            } while (id == 0 || state.isOpen(id));
            handshakes.put(link.token, link);
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
        Input.Request input = new Input.Request(s.id, s.nextRequest++, request);
        if (request instanceof Message.Await a && commands.isGroup()) {
            // An arrival that cannot complete its generation, even with those proposed and not applied yet, may
            // wait for the one that does: a round is then one entry, one flush, instead of one per event-loop turn.
            int pending = pendingArrivals.merge(a.barrier(), 1, Integer::sum) - 1;
            if (state.stillToArrive(a.barrier()) - pending > 1) {
                commands.submitMayWait(input, now);
                return;
            }
        }
        commands.submit(input, now);
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
            commands.submitMayWait(new Input.Ack(s.id, clientReceived), now);
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
            if (handshakes.remove(link.token) != null) {
                abandoned.put(link.token, Boolean.TRUE); // the session it opens or resumes gets no connection
                return;
            }
            ServerSession s = link.session;
            if (s == null) {
                return;
            }
            link.session = null;
            sessions.remove(s.id);
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
            if (!commands.isGroup()) {
                commands.submit(new Input.Shutdown(why), now());
            } // else one node leaves: the group carries on, and its clients resume on the next leader
            shutDown = true;
            if (timer != null) {
                timer.cancel(false);
            }
            if (silenceCheck != null) {
                silenceCheck.cancel(false);
            }
            endConnections(ErrorCode.SHUTTING_DOWN, why);
        });
    }

    /**
     * This node ends every session's connection itself: a final error, then the close. Each session is detached
     * first, so the close that follows is not taken for its client leaving (in a group the session carries on at the
     * leader, with its whole lease).
     */
    private void endConnections(ErrorCode code, String text) {
        for (ServerSession s : sessions.values()) {
            s.link.session = null;
            s.channel().writeAndFlush(new Message.Error(0, code, text)).addListener(ChannelFutureListener.CLOSE);
        }
        sessions.clear();
    }

    // ---- a node of a group ---------------------------------------------------------------------------------------

    /** Where a client that reached this node, which does not lead, should go: the leader's address, or "". */
    private String leaderHint() {
        Input.Leader l = state.leader();
        return l != null && l.node().equals(commands.leaderNode()) ? l.clientAddress() : "";
    }

    /**
     * This node now leads its group, everything committed before applied: it says so through the log, and every
     * session the old leader served — whose connections died with it, or went to it — starts its lease now: a cut,
     * never a client that left. On the executor; inputs submitted after this are ordered after these.
     */
    public void tookOver(Input.Leader self) {
        long now = now();
        commands.submit(self, now);
        for (long session : state.connectedSessions()) {
            commands.submit(new Input.Cut(session, now, Command.Disconnect.SILENT), now);
        }
        metrics.leaderChanges.inc();
    }

    /** This node no longer leads: its clients must find the one that does. On the executor. */
    public void leadershipLost() {
        pendingArrivals.clear();
        endConnections(ErrorCode.NOT_LEADER, leaderHint());
        for (Link l : handshakes.values()) {
            l.channel.close();
        }
        handshakes.clear();
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        timerAt = BarrierCore.NO_DEADLINE;
    }

    /**
     * Applies one log entry's inputs, in order, at the time the leader stamped it; {@code entry} names the entry in
     * what is logged. Returns how many of them failed to apply (each logged). On the executor.
     */
    public int appliedBatch(List<Input> inputs, long stampMillis, Object entry) {
        int failed = 0;
        for (int i = 0; i < inputs.size(); i++) {
            if (!applied(inputs.get(i), stampMillis, entry)) {
                failed++;
            }
        }
        return failed;
    }

    /** Writes the state; see {@link CoordinatorState#writeSnapshot}. On the executor. */
    public void writeSnapshot(java.io.DataOutput out) throws java.io.IOException {
        state.writeSnapshot(out);
    }

    /**
     * Replaces the state with the one {@code in} holds (a snapshot); {@link BoundedReader.Malformed} if it holds none,
     * the state then unchanged. Any thread; done when it returns.
     */
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

    /** Applies {@code input} at {@code stampMillis}: called by the {@link CommandLog}, on the core's executor. */
    void applied(Input input, long stampMillis) {
        applied(input, stampMillis, null);
    }

    /** As {@link #applied(Input, long)}; false if applying it failed (logged, naming {@code entry} if not null). */
    private boolean applied(Input input, long stampMillis, Object entry) {
        // Applied even while this node shuts down: a node of a group keeps its state equal to its log until the log
        // stops (the snapshot it takes as it stops claims everything applied, and a state that skipped inputs would
        // serve wrong answers once it leads); nothing it produces reaches a connection any more.
        boolean ok = true;
        if (input instanceof Input.Request r && r.request() instanceof Message.Await a && !pendingArrivals.isEmpty()) {
            pendingArrivals.computeIfPresent(a.barrier(), (name, n) -> n > 1 ? n - 1 : null);
        }
        try {
            state.apply(input, stampMillis, this);
        } catch (RuntimeException | Error e) {
            // A bug in the core must not take the coordinator down (in a group, every replica fails alike on the
            // same input and carries on alike); it is loud so it gets fixed.
            log.error("coordinator state failed on {}{}", input, entry == null ? "" : " of log entry " + entry, e);
            ok = false;
        }
        for (int i = 0; i < toFlush.size(); i++) {
            ServerSession s = toFlush.get(i);
            s.flushPending = false;
            if (s.link.session == s) {
                s.channel().flush();
                checkConsumer(s); // once per session and input, not once per frame
            }
        }
        toFlush.clear(); // O(sessions written), not O(every session ever written to)
        armTimer();
        sessionCount = state.sessionCount();
        barrierCount = state.barrierCount();
        if (!followUps.isEmpty() && shutDown) {
            followUps.clear(); // this node's own decisions about connections it no longer holds
        } else if (!followUps.isEmpty()) {
            List<Input> next = new ArrayList<>(followUps);
            followUps.clear();
            for (Input i : next) {
                commands.submit(i, now());
            }
        }
        return ok;
    }

    @Override
    public void welcome(long connection, long session, String clientName, int leaseMillis, boolean resumed,
                        long received, String note, Iterable<Message> resend) {
        Link link = handshakes.remove(connection);
        if (link == null) {
            if (abandoned.remove(connection) != null) {
                // Its connection closed before this: a resumed session is cut again (its client knows it and will
                // resume), a new one was never learned by its client and ends.
                followUps.add(resumed ? new Input.Cut(session, now(), Command.Disconnect.SILENT)
                        : new Input.Close(session, "its connection closed during the handshake", false));
            }
            return; // else another node's connection: only the node that holds it answers
        }
        long now = now();
        ServerSession old = sessions.get(session);
        if (old != null) {
            log.debug("session {} moves from {} to {}", session, old.channel().remoteAddress(),
                    link.channel.remoteAddress());
            old.link.session = null; // its close is then nothing to the session
            old.channel().close();
        }
        ServerSession s = new ServerSession(session, clientName, leaseMillis, link, received, now);
        link.session = s;
        sessions.put(session, s);
        int sent = 0;
        link.channel.write(new Message.Welcome(Protocol.VERSION, session, maxFrameBytes, coordinatorName,
                leaseMillis, policy.heartbeatFor(leaseMillis), resumed, received, note), link.channel.voidPromise());
        for (Message m : resend) {
            link.channel.write(m, link.channel.voidPromise()); // what the client missed while it was cut off
            sent++;
        }
        link.channel.flush();
        watchForSilence(s);
        if (resumed) {
            log.info("session {} of '{}' resumed from {} ({} frames re-sent)", session, clientName,
                    link.channel.remoteAddress(), sent);
        } else {
            log.debug("session {} opened for '{}' from {}", session, clientName, link.channel.remoteAddress());
        }
    }

    @Override
    public void answer(long session, Message frame) {
        ServerSession s = sessions.get(session);
        if (s == null) {
            return; // cut off, or connected to another node: it gets the answer when it resumes
        }
        long received = state.received(session);
        if (received - s.toldReceived >= ServerSession.ACKNOWLEDGE_EVERY) {
            // Unasked, ahead of the answer and in the same write: the client may drop what it holds.
            s.toldReceived = received;
            s.channel().write(new Message.Pong(received), s.channel().voidPromise());
        }
        s.channel().write(frame, s.channel().voidPromise());
        if (!s.flushPending) {
            s.flushPending = true;
            toFlush.add(s);
        }
    }

    @Override
    public void ended(long session, String why) {
        ServerSession s = sessions.remove(session);
        if (s != null) {
            s.link.session = null;
            log.info("session {} of '{}' from {} ended: {}", session, s.clientName, s.channel().remoteAddress(), why);
        }
    }

    @Override
    public void event(Effect effect) {
        if (effect instanceof Effect.Broken b) {
            metrics.breaks.labelValues(Metrics.label(b.reason().cause())).inc();
            log.info("{}", b.reason().message());
        } else if (effect instanceof Effect.SessionExpired e) {
            metrics.sessionsLost.inc();
            log.info("session {} of '{}' lost: {}", e.session(), e.clientName(), e.why());
        } else if (effect instanceof Effect.Tripped t) {
            metrics.trips.inc();
            metrics.roundSeconds.observe(t.roundMillis() / 1000.0);
            if (log.isDebugEnabled()) { // once a round: the arguments would be boxed even with debug off
                log.debug("barrier '{}' generation {} released {} parties after {} ms", t.barrier(), t.generation(),
                        t.parties(), t.roundMillis());
            }
        }
    }

    /**
     * A client that does not read (or never acknowledges) would make the coordinator hold ever more for it. Past
     * the limits its connection is closed; the session then has its lease to come back and catch up, else it is
     * lost like any other silent party — unless it holds more unacknowledged answers than allowed: then it ends.
     */
    private void checkConsumer(ServerSession s) {
        ChannelOutboundBuffer pending = s.channel().unsafe().outboundBuffer();
        long queued = pending == null ? 0 : pending.totalPendingWriteBytes();
        int unacknowledged = state.unacknowledged(s.id);
        if (queued <= connectionLimits.maxPendingWriteBytes() && unacknowledged <= connectionLimits.maxUnacknowledged()) {
            return;
        }
        log.warn("closing connection of session {} ('{}') from {}: {} frames unacknowledged, output not read",
                s.id, s.clientName, s.channel().remoteAddress(), unacknowledged);
        s.channel().pipeline().fireUserEventTriggered(ConnectionHandler.Event.SLOW_CONSUMER); // it says why and closes
        if (unacknowledged > connectionLimits.maxUnacknowledged()) {
            followUps.add(new Input.Close(s.id, "it did not acknowledge " + unacknowledged + " answers", false));
        }
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

    // ---- silent connections -------------------------------------------------------------------------------------

    /** Makes sure the sweep runs at least every heartbeat of {@code s}'s lease. */
    private void watchForSilence(ServerSession s) {
        int heartbeat = policy.heartbeatFor(s.leaseMillis);
        if (silenceCheck == null || heartbeat < silenceCheckMillis) {
            if (silenceCheck != null) {
                silenceCheck.cancel(false);
            }
            silenceCheckMillis = heartbeat;
            silenceCheck = executor.schedule(this::checkSilence, heartbeat, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Closes the connections whose clients have sent nothing for three heartbeats (every frame stamps
     * {@code lastHeard}). One sweep every heartbeat of the shortest lease held, instead of a timer per connection
     * and a clock reading per read; the sweep stops while no session is connected.
     */
    private void checkSilence() {
        silenceCheck = null;
        if (shutDown) {
            return;
        }
        long now = now();
        int period = Integer.MAX_VALUE;
        for (ServerSession s : sessions.values()) {
            int heartbeat = policy.heartbeatFor(s.leaseMillis);
            if (now - s.lastHeard > 3L * heartbeat) {
                s.channel().pipeline().fireUserEventTriggered(ConnectionHandler.Event.SILENT); // it closes
            }
            period = Math.min(period, heartbeat);
        }
        if (period != Integer.MAX_VALUE) {
            silenceCheckMillis = period;
            silenceCheck = executor.schedule(this::checkSilence, period, TimeUnit.MILLISECONDS);
        }
    }

    private static String seconds(long millis) {
        return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }
}
