package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.coordinator.core.BarrierView;
import io.lockstep.coordinator.core.BreakReason;
import io.lockstep.coordinator.core.Command;
import io.lockstep.coordinator.core.Effect;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;
import io.lockstep.protocol.ReleaseFrames;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Confines the {@link BarrierCore} to one executor and connects it to the network: opens and resumes sessions,
 * feeds the core commands with the current time, turns its answers into frames for the right session (held in
 * the session's outbox until acknowledged, so a client that reconnects gets what it missed), and keeps one
 * timer armed at the core's next deadline.
 *
 * <p>Every method runs its work on the core's executor; they may be called from any thread. Frames written
 * during one command are flushed once per channel when the command is done.
 */
public final class CoreDriver {

    private static final Logger log = LoggerFactory.getLogger(CoreDriver.class);
    private static final int EXPIRED_REMEMBERED = 10_000;

    private final BarrierCore core;
    private final EventExecutor executor;
    private final LongSupplier clockMillis;
    private final SessionPolicy policy;
    private final ServerConfig.ConnectionLimits connectionLimits;
    private final String coordinatorName;
    private final int maxFrameBytes;
    private final Instant startedAt = Instant.now();
    private final SecureRandom random = new SecureRandom();
    /**
     * By session id. Looked up once per answer on the release fan-out: a primitive-keyed open-addressing map (no
     * boxed key, no node per entry) touches fewer cold cache lines per party than a {@code HashMap<Long, ...>}.
     */
    private final LongObjectMap<ServerSession> sessions = new LongObjectHashMap<>();
    /** Why recently ended sessions ended, so that a late resume gets a precise answer. */
    private final Map<Long, String> ended = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, String> eldest) {
            return size() > EXPIRED_REMEMBERED;
        }
    };
    /** Sessions written to during the current command; each is flushed once when the command is done. */
    private final List<ServerSession> toFlush = new ArrayList<>();
    private final Consumer<Effect> dispatcher = this::dispatch;
    private final Metrics metrics;
    /** Snapshots for the metrics gauges, written on the core's thread after every command. */
    private volatile int sessionCount;
    private volatile int barrierCount;
    private ScheduledFuture<?> timer;
    private long timerAt = BarrierCore.NO_DEADLINE;
    /** The sweep for silent connections, and its period: armed while any session is connected. */
    private ScheduledFuture<?> silenceCheck;
    private int silenceCheckMillis;
    private boolean shutDown;

    public CoreDriver(EventExecutor executor, LongSupplier clockMillis, BarrierCore.Limits limits,
                      SessionPolicy policy, ServerConfig.ConnectionLimits connectionLimits, String coordinatorName,
                      int maxFrameBytes) {
        this.core = new BarrierCore(limits);
        this.connectionLimits = connectionLimits;
        this.executor = executor;
        this.clockMillis = clockMillis;
        this.policy = policy;
        this.coordinatorName = coordinatorName;
        this.maxFrameBytes = maxFrameBytes;
        this.metrics = new Metrics(() -> sessionCount, () -> barrierCount, () -> connectionCount.getAsInt());
    }

    private java.util.function.IntSupplier connectionCount = () -> 0;

    /** Where the connection gauge reads from (the server's connection limiter). */
    void countConnectionsWith(java.util.function.IntSupplier connections) {
        this.connectionCount = connections;
    }

    public Metrics metrics() {
        return metrics;
    }

    /** Sessions held (connected, or cut and within their lease), as of the last command. */
    public int sessionCount() {
        return sessionCount;
    }

    /** True until shutdown begins. */
    public boolean isServing() {
        return !shutDown;
    }

    /** A snapshot of one barrier (null if not held), taken on the core's thread. */
    public Future<BarrierView> view(String name) {
        return executor.submit(() -> core.view(name, clockMillis.getAsLong()));
    }

    private void onCore(Runnable task) {
        if (executor.inEventLoop()) {
            task.run();
        } else {
            executor.execute(task);
        }
    }

    // ---- from connections ----------------------------------------------------------------------------------------

    /** A valid HELLO: resumes the session it names if it can, else opens a new one; answers WELCOME. */
    void hello(Link link, Message.Hello hello) {
        onCore(() -> {
            Channel ch = link.channel;
            if (shutDown) {
                ch.writeAndFlush(new Message.Error(0, ErrorCode.SHUTTING_DOWN, "coordinator is shutting down"))
                        .addListener(ChannelFutureListener.CLOSE);
                return;
            }
            long now = clockMillis.getAsLong();
            String note = "";
            if (hello.resumeSession() != 0) {
                ServerSession s = sessions.get(hello.resumeSession());
                if (s != null && s.clientName.equals(hello.clientName()) && hello.received() >= s.oldestHeld()
                        && hello.received() <= s.produced) {
                    resume(link, s, hello.received(), now);
                    return;
                }
                note = s != null ? "session " + hello.resumeSession() + " cannot be resumed by this client"
                        : ended.getOrDefault(hello.resumeSession(), "session " + hello.resumeSession()
                        + " is unknown to this coordinator, which started at " + startedAt
                        + ": it restarted and its state was lost, or the session ended long ago");
            }
            long id;
            do {
                id = random.nextLong() & Long.MAX_VALUE;
            } while (id == 0 || sessions.containsKey(id));
            int lease = policy.grant(hello.leaseMillis());
            ServerSession s = new ServerSession(id, hello.clientName(), lease, now);
            s.channel = ch;
            link.session = s;
            sessions.put(id, s);
            ch.writeAndFlush(new Message.Welcome(Protocol.VERSION, id, maxFrameBytes, coordinatorName, lease,
                    policy.heartbeatFor(lease), false, 0, note));
            apply(new Command.OpenSession(id, hello.clientName(), lease));
            watchForSilence(s);
            log.debug("session {} opened for '{}' from {}", id, hello.clientName(), ch.remoteAddress());
        });
    }

    private void resume(Link link, ServerSession s, long clientReceived, long now) {
        Channel old = s.channel;
        if (old != null && old != link.channel) {
            log.debug("session {} moves from {} to {}", s.id, old.remoteAddress(), link.channel.remoteAddress());
            old.close(); // its channelClosed is ignored: the session is no longer on it
        }
        s.channel = link.channel;
        s.lastHeard = now;
        link.session = s;
        s.acknowledge(clientReceived);
        s.toldReceived = s.received;
        Channel ch = link.channel;
        ch.write(new Message.Welcome(Protocol.VERSION, s.id, maxFrameBytes, coordinatorName, s.leaseMillis,
                policy.heartbeatFor(s.leaseMillis), true, s.received, ""));
        for (Message m : s.outbox) {
            ch.write(m, ch.voidPromise()); // what the client missed while it was cut off, in order
        }
        ch.flush();
        apply(new Command.Reconnect(s.id));
        watchForSilence(s);
        log.info("session {} of '{}' resumed from {} ({} frames re-sent)", s.id, s.clientName, ch.remoteAddress(),
                s.outbox.size());
    }

    /**
     * A counted request frame of the connection's session. On the per-message path: with one I/O thread the
     * connection's loop is the core's, and the request is applied at once, without a task.
     */
    void request(Link link, Message.Request request) {
        if (executor.inEventLoop()) {
            applyRequest(link, request);
        } else {
            executor.execute(() -> applyRequest(link, request));
        }
    }

    private void applyRequest(Link link, Message.Request request) {
        ServerSession s = link.session; // set by the handshake, which ran earlier on this thread
        if (s == null || s.channel != link.channel) {
            return; // refused or replaced; the client will resume on its new connection
        }
        s.received++;
        long now = clockMillis.getAsLong();
        s.lastHeard = now;
        apply(toCommand(s.id, request), now);
    }

    /** The core's command for a request frame of session {@code session}. */
    private static Command toCommand(long session, Message.Request r) {
        // Java 17: a switch over the type enum is exhaustive-checked; each case casts to its record.
        return switch (r.type()) {
            case DECLARE -> {
                Message.Declare d = (Message.Declare) r;
                yield new Command.Declare(session, d.requestId(), d.barrier(), d.parties());
            }
            case AWAIT -> {
                Message.Await a = (Message.Await) r;
                yield new Command.Arrive(session, a.requestId(), a.barrier(), a.timeoutMillis(), a.runsAction(),
                        a.exchange(), a.contribution());
            }
            case CANCEL -> new Command.Cancel(session, r.requestId());
            case ACTION_DONE -> new Command.ActionDone(session, r.requestId(), ((Message.ActionDone) r).failure());
            case ABORT -> new Command.Abort(session, r.requestId(), ((Message.Abort) r).barrier());
            case RESET -> new Command.Reset(session, r.requestId(), ((Message.Reset) r).barrier());
            case QUERY -> new Command.Query(session, r.requestId(), ((Message.Query) r).barrier());
            case LIST -> new Command.ListBarriers(session, r.requestId());
            case HELLO, PING, ACK, GOODBYE, AUTH, WELCOME, OK, RELEASED, FAILED, RUN_ACTION, STATUS, ERROR,
                 RELEASE_PART, PONG, CHALLENGE, BARRIERS -> throw new AssertionError(r.type() + " is not a request");
        };
    }

    /** A heartbeat: acknowledges frames, answered by PONG. */
    void ping(Link link, long clientReceived) {
        onCore(() -> {
            ServerSession s = heard(link, clientReceived);
            if (s == null) {
                return;
            }
            s.toldReceived = s.received;
            link.channel.writeAndFlush(new Message.Pong(s.received), link.channel.voidPromise());
        });
    }

    /**
     * An ACK: acknowledges frames and wants no answer. Clients write one ahead of their requests, so it is on the
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
     * The connection's client was heard and acknowledges {@code clientReceived} frames (PING, ACK). Returns its
     * session, or null if the connection no longer carries one.
     */
    private ServerSession heard(Link link, long clientReceived) {
        ServerSession s = link.session;
        if (s == null || s.channel != link.channel) {
            return null;
        }
        s.lastHeard = clockMillis.getAsLong();
        s.acknowledge(clientReceived);
        return s;
    }

    /** The client ends its session: no lease. {@code exiting}: its process is ending (see {@link Message.Goodbye}). */
    void goodbye(Link link, boolean exiting) {
        onCore(() -> {
            ServerSession s = link.session;
            if (s != null && s.channel == link.channel) {
                endSession(s, exiting ? "its process is exiting" : "its client closed it", exiting);
            }
        });
    }

    /**
     * The connection closed or was found dead: the session, if still on it, has its lease to come back, or only the
     * reconnect grace if {@code closedByPeer} (FIN or RST from the client's side) while its client was being heard.
     */
    void channelClosed(Link link, String how, boolean closedByPeer) {
        onCore(() -> {
            ServerSession s = link.session;
            if (s == null || s.channel != link.channel || !sessions.containsKey(s.id)) {
                return;
            }
            s.channel = null;
            long now = clockMillis.getAsLong();
            boolean grace = closedByPeer && policy.closedWhileHeard(s.lastHeard, now, s.leaseMillis)
                    && policy.reconnectGraceMillis() < s.leaseMillis;
            log.info("session {} of '{}' cut off ({}); it has {} to come back", s.id, s.clientName, how,
                    seconds(grace ? policy.reconnectGraceMillis() : s.leaseMillis - (now - s.lastHeard)));
            apply(grace ? Command.Disconnect.closed(s.id, s.lastHeard, policy.reconnectGraceMillis())
                    : Command.Disconnect.silent(s.id, s.lastHeard), now);
        });
    }

    private void endSession(ServerSession s, String why, boolean cannotCome) {
        sessions.remove(s.id);
        ended.put(s.id, "session " + s.id + " ended: " + why);
        apply(new Command.CloseSession(s.id, why, cannotCome));
        log.info("session {} of '{}' from {} ended: {}", s.id, s.clientName,
                s.channel == null ? "(no connection)" : s.channel.remoteAddress(), why);
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
            apply(new Command.Shutdown(why));
            shutDown = true;
            if (timer != null) {
                timer.cancel(false);
            }
            if (silenceCheck != null) {
                silenceCheck.cancel(false);
            }
            for (ServerSession s : sessions.values()) {
                if (s.channel != null) {
                    s.channel.writeAndFlush(new Message.Error(0, ErrorCode.SHUTTING_DOWN, why))
                            .addListener(ChannelFutureListener.CLOSE);
                }
            }
            sessions.clear();
        });
    }

    /** A snapshot of every barrier, taken on the core's thread. */
    public Future<List<BarrierView>> views() {
        return executor.submit(() -> core.views(clockMillis.getAsLong()));
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
        long now = clockMillis.getAsLong();
        int period = Integer.MAX_VALUE;
        for (ServerSession s : sessions.values()) {
            if (s.channel == null) {
                continue;
            }
            int heartbeat = policy.heartbeatFor(s.leaseMillis);
            if (now - s.lastHeard > 3L * heartbeat) {
                s.channel.pipeline().fireUserEventTriggered(ConnectionHandler.Event.SILENT); // it closes
            }
            period = Math.min(period, heartbeat);
        }
        if (period != Integer.MAX_VALUE) {
            silenceCheckMillis = period;
            silenceCheck = executor.schedule(this::checkSilence, period, TimeUnit.MILLISECONDS);
        }
    }

    // ---- the core ------------------------------------------------------------------------------------------------

    private void apply(Command command) {
        apply(command, clockMillis.getAsLong());
    }

    /** Applies {@code command} at {@code now}, a clock reading the caller already took. */
    private void apply(Command command, long now) {
        if (shutDown) {
            return;
        }
        try {
            core.apply(command, now, dispatcher);
        } catch (RuntimeException e) {
            // A bug in the core must not take the coordinator down; it is loud so it gets fixed.
            log.error("barrier core failed on {}", command, e);
        }
        List<ServerSession> deaf = null;
        for (int i = 0; i < toFlush.size(); i++) {
            ServerSession s = toFlush.get(i);
            s.flushPending = false;
            if (s.channel != null) {
                s.channel.flush();
                if (isSlowConsumer(s)) { // once per session and command, not once per frame
                    deaf = deaf == null ? new ArrayList<>() : deaf;
                    deaf.add(s);
                }
            }
        }
        toFlush.clear(); // O(sessions written), not O(every session ever written to)
        if (deaf != null) {
            // Ended only now: ending a session is a command of its own, never one nested inside another.
            for (ServerSession s : deaf) {
                cutOffSlowConsumer(s);
            }
        }
        armTimer();
        sessionCount = core.sessionCount();
        barrierCount = core.barrierCount();
    }

    private void armTimer() {
        long next = core.nextDeadline();
        if (next >= timerAt) {
            return; // the armed timer fires no later than needed; an early tick costs nothing
        }
        if (timer != null) {
            timer.cancel(false);
        }
        timerAt = next;
        long delay = Math.max(0, next - clockMillis.getAsLong());
        timer = executor.schedule(this::onTimer, delay, TimeUnit.MILLISECONDS);
    }

    private void onTimer() {
        timer = null;
        timerAt = BarrierCore.NO_DEADLINE;
        apply(new Command.Tick());
    }

    private void dispatch(Effect effect) {
        if (effect instanceof Effect.Answer answer) {
            ServerSession s = sessions.get(answer.session());
            if (s == null) {
                return;
            }
            Message m = toMessage(answer);
            if (s.channel != null && s.received - s.toldReceived >= ServerSession.ACKNOWLEDGE_EVERY) {
                // Unasked, ahead of the answer and in the same write: the client may drop what it holds.
                s.toldReceived = s.received;
                s.channel.write(new Message.Pong(s.received), s.channel.voidPromise());
            }
            boolean written = false;
            if (m instanceof Message.Released r && !r.contributions().isEmpty()) {
                for (Message frame : ReleaseFrames.split(r)) {
                    written = s.send(frame);
                }
            } else {
                written = s.send(m);
            }
            if (written && !s.flushPending) {
                s.flushPending = true;
                toFlush.add(s);
            }
        } else if (effect instanceof Effect.Broken b) {
            metrics.breaks.labelValues(Metrics.label(b.reason().cause())).inc();
            log.info("{}", b.reason().message());
        } else if (effect instanceof Effect.SessionExpired e) {
            metrics.sessionsLost.inc();
            sessions.remove(e.session());
            ended.put(e.session(), "session " + e.session() + " expired: " + e.why());
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
     * lost like any other silent party.
     */
    private boolean isSlowConsumer(ServerSession s) {
        io.netty.channel.ChannelOutboundBuffer pending = s.channel.unsafe().outboundBuffer();
        long queued = pending == null ? 0 : pending.totalPendingWriteBytes();
        return queued > connectionLimits.maxPendingWriteBytes()
                || s.outbox.size() > connectionLimits.maxUnacknowledged();
    }

    private void cutOffSlowConsumer(ServerSession s) {
        Channel ch = s.channel;
        if (ch == null || !sessions.containsKey(s.id)) {
            return;
        }
        log.warn("closing connection of session {} ('{}') from {}: {} frames unacknowledged, output not read",
                s.id, s.clientName, ch.remoteAddress(), s.outbox.size());
        ch.pipeline().fireUserEventTriggered(ConnectionHandler.Event.SLOW_CONSUMER); // it says why and closes
        if (s.outbox.size() > connectionLimits.maxUnacknowledged()) {
            endSession(s, "it did not acknowledge " + s.outbox.size() + " answers", false);
        }
    }

    private static Message.BarrierInfo info(BarrierView v) {
        List<Message.Waiter> ws = v.waiting().stream().map(w -> new Message.Waiter(w.party(), w.waitedMillis())).toList();
        return new Message.BarrierInfo(v.name(), v.parties(), v.generation(), v.broken() != null,
                v.broken() == null ? "" : v.broken().message(), ws);
    }

    private static String seconds(long millis) {
        return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }

    private static Message toMessage(Effect.Answer a) {
        if (a instanceof Effect.Released r) {
            return new Message.Released(r.requestId(), r.generation(), r.order(), r.contributions());
        } else if (a instanceof Effect.Failed f) {
            BreakReason why = f.reason();
            return new Message.Failed(f.requestId(), f.outcome(), why.cause(), why.generation(), why.culprit(),
                    why.message());
        } else if (a instanceof Effect.Ok o) {
            return new Message.Ok(o.requestId());
        } else if (a instanceof Effect.RunAction r) {
            return new Message.RunAction(r.requestId(), r.generation());
        } else if (a instanceof Effect.Rejected r) {
            return new Message.Error(r.requestId(), r.code(), r.message());
        } else if (a instanceof Effect.Status s) {
            Message.BarrierInfo i = info(s.view());
            return new Message.Status(s.requestId(), i.parties(), i.generation(), i.broken(), i.brokenReason(),
                    i.waiting());
        } else if (a instanceof Effect.StatusList l) {
            return new Message.Barriers(l.requestId(), l.views().stream().map(CoreDriver::info).toList());
        }
        throw new AssertionError("unhandled answer " + a);
    }
}
