package io.lockstep.coordinator.server;

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
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The sessions this node serves and the frames it writes them: what applying an input produces
 * ({@link CoordinatorState.Outputs}) goes out here, on the connection of the session it is for, if this node holds
 * it. It also keeps the handshakes not applied yet, closes a connection whose client does not read, and sweeps for
 * connections whose clients went silent. Frames written while one input is applied are flushed once per connection
 * when it is done ({@link #flushWritten}).
 *
 * <p>Confined to the core's executor, like the state; {@link CoreDriver} is its only user.
 */
final class ServedSessions implements CoordinatorState.Outputs {

    private static final Logger log = LoggerFactory.getLogger(ServedSessions.class);
    /** Handshakes whose connection closed before the handshake was applied, remembered at most. */
    private static final int ABANDONED_REMEMBERED = 10_000;

    private final EventExecutor executor;
    /** The state's time (see {@link CommandLog#now}). */
    private final LongSupplier clock;
    /** The state as it is now (a snapshot replaces it). */
    private final Supplier<CoordinatorState> state;
    private final SessionPolicy policy;
    private final ServerConfig.ConnectionLimits connectionLimits;
    private final String coordinatorName;
    private final int maxFrameBytes;
    private final Metrics metrics;
    /**
     * Sessions connected to this node, by id. Looked up once per answer on the release fan-out: a primitive-keyed
     * open-addressing map (no boxed key, no node per entry) touches fewer cold cache lines per party than a
     * {@code HashMap<Long, ...>}.
     */
    private final LongObjectMap<ServerSession> sessions = new LongObjectHashMap<>();
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
    /** The sweep for silent connections, and its period: armed while any session is connected. */
    private ScheduledFuture<?> silenceCheck;
    private int silenceCheckMillis;
    private boolean stopped;

    ServedSessions(EventExecutor executor, LongSupplier clock, Supplier<CoordinatorState> state, SessionPolicy policy,
                   ServerConfig.ConnectionLimits connectionLimits, String coordinatorName, int maxFrameBytes,
                   Metrics metrics) {
        this.executor = executor;
        this.clock = clock;
        this.state = state;
        this.policy = policy;
        this.connectionLimits = connectionLimits;
        this.coordinatorName = coordinatorName;
        this.maxFrameBytes = maxFrameBytes;
        this.metrics = metrics;
    }

    /** {@code link}'s handshake is submitted: WELCOME goes to it when applied. */
    void handshaking(Link link) {
        handshakes.put(link.token, link);
    }

    /**
     * {@code link} closed: true if its handshake was not applied yet (the session it opens or resumes then gets no
     * connection); else its session, if it had one, is no longer served here.
     */
    boolean closed(Link link) {
        if (handshakes.remove(link.token) != null) {
            abandoned.put(link.token, Boolean.TRUE);
            return true;
        }
        ServerSession s = link.session;
        if (s != null) {
            link.session = null;
            sessions.remove(s.id);
        }
        return false;
    }

    /**
     * This node ends every session's connection itself: a final error, then the close. Each session is detached
     * first, so the close that follows is not taken for its client leaving (in a group the session carries on at the
     * leader, with its whole lease). Handshakes not applied yet are closed.
     */
    void endAll(ErrorCode code, String text) {
        for (ServerSession s : sessions.values()) {
            s.link.session = null;
            s.channel().writeAndFlush(new Message.Error(0, code, text)).addListener(ChannelFutureListener.CLOSE);
        }
        sessions.clear();
        for (Link l : handshakes.values()) {
            l.channel.close();
        }
        handshakes.clear();
    }

    /** This node stops serving: no more sweeps, no follow-ups (decisions about connections it no longer holds). */
    void stop() {
        stopped = true;
        if (silenceCheck != null) {
            silenceCheck.cancel(false);
        }
    }

    /**
     * After an input is applied: flushes each connection written to, once, and checks it is read. Returns the inputs
     * applying it called for (to be submitted after it), or an empty list.
     */
    List<Input> flushWritten() {
        for (int i = 0; i < toFlush.size(); i++) {
            ServerSession s = toFlush.get(i);
            s.flushPending = false;
            if (s.link.session == s) {
                s.channel().flush();
                checkConsumer(s); // once per session and input, not once per frame
            }
        }
        toFlush.clear(); // O(sessions written), not O(every session ever written to)
        if (followUps.isEmpty()) {
            return List.of();
        }
        List<Input> next = stopped ? List.of() : new ArrayList<>(followUps);
        followUps.clear();
        return next;
    }

    @Override
    public void welcome(long connection, long session, String clientName, int leaseMillis, boolean resumed,
                        long received, String note, Iterable<Message> resend) {
        Link link = handshakes.remove(connection);
        if (link == null) {
            if (abandoned.remove(connection) != null) {
                // Its connection closed before this: a resumed session is cut again (its client knows it and will
                // resume), a new one was never learned by its client and ends.
                followUps.add(resumed ? new Input.Cut(session, clock.getAsLong(), Command.Disconnect.SILENT)
                        : new Input.Close(session, "its connection closed during the handshake", false));
            }
            return; // else another node's connection: only the node that holds it answers
        }
        long now = clock.getAsLong();
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
        long received = state.get().received(session);
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
        int unacknowledged = state.get().unacknowledged(s.id);
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
        if (stopped) {
            return;
        }
        long now = clock.getAsLong();
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
}
