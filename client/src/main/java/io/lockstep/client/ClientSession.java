package io.lockstep.client;

import io.lockstep.protocol.Authentication;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.FrameDecoder;
import io.lockstep.protocol.FrameEncoder;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client's session with the coordinator, across as many connections as it takes: sends requests and correlates
 * replies by request id; keeps the frames it sent until the coordinator acknowledges them; pings every heartbeat;
 * takes a connection that stays silent for three heartbeats as dead; and reconnects with backoff, resuming the
 * session so that nothing is lost or counted twice. If the session cannot be resumed (its lease ran out, or the
 * coordinator restarted), everything pending fails with {@link SessionLostException} and a new session declares
 * the barriers again. Which node to try and when is {@link Reconnection}'s; the frames kept and the acknowledgements
 * due are {@link Outbox}'s.
 *
 * <p>State is confined to one event loop ({@link #loop}); {@link #send} and {@link #close} may be called from
 * any thread. The outstanding map is concurrent because callers add to it from their own threads.
 */
final class ClientSession {

    private static final Logger log = Logging.logger(ClientSession.class);
    /** Someone waiting for replies to one request. Called on the event loop. */
    interface Outstanding {
        /** A reply arrived; return true when it was the last one this request gets. */
        boolean onReply(Message.Reply reply);

        /** The session ended before the last reply; {@code lost} says the session itself was lost. */
        void onSessionEnded(String why, boolean lost);
    }

    private enum State { CONNECTING, CONNECTED, CUT, CLOSED }

    final EventLoop loop;
    /**
     * The coordinators this client may reach — one, or the nodes of a group (a node that does not lead may name the
     * one that does, which is then added) — which to try, and when. Loop-confined.
     */
    private final Reconnection nodes;
    private final String clientName;
    private final int requestedLeaseMillis;
    private final int connectTimeoutMillis;
    private final Map<Long, Outstanding> outstanding = new ConcurrentHashMap<>();
    private final Map<String, Integer> declared = new ConcurrentHashMap<>();
    private final AtomicLong requestIds = new AtomicLong();
    private final CompletableFuture<Message.Welcome> firstWelcome = new CompletableFuture<>();

    // Loop-confined from here on.
    private State state = State.CONNECTING;
    private Channel channel;
    private volatile long sessionId;
    private int leaseMillis;
    private int heartbeatMillis;
    /** GROUP queries sent on the current connection and not yet answered, oldest first. */
    private final ArrayDeque<CompletableFuture<Message.GroupStatus>> groupQueries = new ArrayDeque<>();
    /** ADMIN requests sent on the current connection and not yet answered in full, by id. */
    private final Map<Long, AdminCall> adminCalls = new java.util.HashMap<>();
    /** The counted frames sent and received in this session. */
    private final Outbox outbox = new Outbox();
    private long lastContactNanos = System.nanoTime();
    /** Whether this end wrote, and heard, anything since the last heartbeat: if both, the beat sends nothing. */
    private boolean wroteSinceBeat;
    private boolean heardSinceBeat;
    private ScheduledFuture<?> heartbeat;
    private ScheduledFuture<?> retry;
    /** False once this client has told its callers the session is lost: it must then never resume it. */
    private boolean resumable = true;
    /** Set while the coordinator has been unreachable for longer than the lease: new requests fail at once. */
    private volatile String unreachable;
    private volatile String closedReason;

    private final byte[] authSecret;
    private final SslContext tls;

    ClientSession(EventLoop loop, List<HostAndPort> nodes, String clientName, int requestedLeaseMillis,
                  int connectTimeoutMillis, byte[] authSecret, SslContext tls) {
        this.loop = loop;
        this.authSecret = authSecret;
        this.tls = tls;
        this.nodes = new Reconnection(nodes);
        this.clientName = clientName;
        this.requestedLeaseMillis = requestedLeaseMillis;
        this.connectTimeoutMillis = connectTimeoutMillis;
    }

    String address() {
        return nodes.address();
    }

    long sessionId() {
        return sessionId;
    }

    long nextRequestId() {
        return requestIds.incrementAndGet();
    }

    boolean isOpen() {
        return closedReason == null;
    }

    int outstandingCount() {
        return outstanding.size();
    }

    /** Remembers a declaration, so that a new session after a lost one declares it again. */
    void declared(String barrier, int parties) {
        declared.put(barrier, parties);
    }

    /** Forgets a declaration the coordinator dropped: a new session does not declare it again. */
    void undeclared(String barrier) {
        declared.remove(barrier);
    }

    // ---- connecting ----------------------------------------------------------------------------------------------

    /** Opens the first connection; the future completes with the first WELCOME or fails with a clear message. */
    CompletableFuture<Message.Welcome> start() {
        loop.execute(() -> {
            nodes.firstConnection(connectTimeoutMillis);
            connect(true);
        });
        return firstWelcome;
    }

    private void connect(boolean first) {
        if (state == State.CLOSED) {
            return;
        }
        // A reconnect must not wait long on one attempt: the lease is running. Nor must a first connection wait the
        // whole timeout on one node of a group that is unreachable when the next one may answer.
        int attemptMillis = first ? Math.max(Math.min(connectTimeoutMillis, 1_000), connectTimeoutMillis / nodes.nodeCount())
                : Math.max(200, Math.min(connectTimeoutMillis, heartbeatMillis * 2));
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(SharedEventLoop.channelType())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, attemptMillis)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            SslHandler ssl = tls.newHandler(ch.alloc(), nodes.node().host(), nodes.node().port());
                            SSLParameters params = ssl.engine().getSSLParameters();
                            params.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host
                            ssl.engine().setSSLParameters(params);
                            ch.pipeline().addLast("tls", ssl);
                        }
                        ch.pipeline()
                                .addLast("httpAnswer", new HttpAnswerDetector(ClientSession.this::notLockstep))
                                // The coordinator never sends frames above the default maximum.
                                .addLast("frameDecoder", new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_BYTES))
                                .addLast("frameEncoder", FrameEncoder.INSTANCE)
                                .addLast("session", new Handler());
                    }
                });
        HostAndPort node = nodes.node();
        ChannelFuture cf = b.connect(node.host(), node.port());
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                String why = "cannot connect to coordinator at " + node + ": " + describe(f.cause(), node);
                if (first) {
                    firstFailed(why, f.cause());
                } else {
                    log.debug("{}", why);
                    nodes.next();
                    scheduleReconnect();
                }
                return;
            }
            Channel ch = cf.channel();
            if (state == State.CLOSED) {
                ch.close();
                return;
            }
            channel = ch;
            nodes.opened();
            ch.writeAndFlush(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, clientName, requestedLeaseMillis,
                    first || !resumable ? 0 : sessionId, first || !resumable ? 0 : outbox.received()));
            // A coordinator that accepts but never answers is as bad as none.
            loop.schedule(() -> {
                if (channel == ch && state != State.CONNECTED && ch.isActive()) {
                    log.debug("no WELCOME from {} within {} ms", node, attemptMillis);
                    ch.close();
                }
            }, attemptMillis, TimeUnit.MILLISECONDS);
        });
    }

    private String describe(Throwable c, HostAndPort node) {
        if (c == null || c instanceof ConnectTimeoutException) {
            return "no answer within " + connectTimeoutMillis + " ms";
        } else if (c instanceof ConnectException) {
            return "connection refused";
        } else if (c instanceof UnknownHostException) {
            return "unknown host '" + node.host() + "'";
        }
        return c.getMessage();
    }

    /** A try of the first connection failed ({@code why}): the next, or connecting fails (see {@link Reconnection}). */
    private void firstFailed(String why, Throwable cause) {
        long delay = nodes.firstFailed(why, cause);
        if (delay >= 0) {
            retry = loop.schedule(() -> connect(true), delay, TimeUnit.MILLISECONDS);
            return;
        }
        state = State.CLOSED;
        firstWelcome.completeExceptionally(nodes.firstFailure());
    }

    private void onWelcome(Channel ch, Message.Welcome w) {
        boolean first = sessionId == 0;
        if (!first && !w.resumed()) {
            String why = "this client's session " + sessionId + " with coordinator " + address() + " was lost: "
                    + (w.note().isEmpty() ? "the coordinator did not resume it" : w.note());
            log.warn("{}; continuing in new session {}", why, w.sessionId());
            sessionLost(why);
        }
        sessionId = w.sessionId();
        leaseMillis = w.leaseMillis();
        heartbeatMillis = Math.max(10, w.heartbeatMillis());
        state = State.CONNECTED;
        unreachable = null;
        nodes.connected();
        lastContactNanos = System.nanoTime();
        if (w.resumed()) {
            outbox.coordinatorHas(w.received());
            int resent = outbox.resendOn(ch); // what the coordinator never got
            log.info("session {} resumed on coordinator {} ({} frames re-sent)", sessionId, address(), resent);
        } else if (!first) {
            // A new session knows none of our barriers yet; declare them again before anything else is sent.
            resumable = true;
            declared.forEach((name, parties) -> {
                long id = nextRequestId();
                outstanding.put(id, new Redeclaration(name));
                push(new Message.Declare(id, name, parties));
            });
        }
        if (heartbeat == null) {
            heartbeat = loop.scheduleAtFixedRate(this::beat, heartbeatMillis, heartbeatMillis, TimeUnit.MILLISECONDS);
        }
        firstWelcome.complete(w);
    }

    /** The answer to a re-declaration after a lost session; only a failure is worth a word. */
    private record Redeclaration(String barrier) implements Outstanding {
        @Override
        public boolean onReply(Message.Reply reply) {
            if (reply instanceof Message.Error e) {
                log.warn("declaring barrier '{}' again in the new session failed: {}", barrier, e.message());
            }
            return true;
        }

        @Override
        public void onSessionEnded(String why, boolean lost) {
        }
    }

    private void beat() {
        if (state != State.CONNECTED) {
            checkLease();
            return;
        }
        long silentMillis = (System.nanoTime() - lastContactNanos) / 1_000_000;
        if (silentMillis > 3L * heartbeatMillis) {
            log.info("coordinator {} silent for {} ms; reconnecting", address(), silentMillis);
            channel.close(); // channelInactive starts the reconnect
            return;
        }
        boolean busy = wroteSinceBeat && heardSinceBeat;
        wroteSinceBeat = false;
        heardSinceBeat = false;
        if (busy) {
            return; // both ends heard from each other within this heartbeat: a PING would tell nothing new
        }
        channel.writeAndFlush(new Message.Ping(outbox.acknowledgeNow()), channel.voidPromise());
    }

    private void onCut(Channel ch) {
        if (ch != channel) {
            return;
        }
        channel = null;
        for (CompletableFuture<Message.GroupStatus> asked; (asked = groupQueries.poll()) != null; ) {
            asked.completeExceptionally(new LockstepException("the connection was lost before the group answered"));
        }
        for (AdminCall call : adminCalls.values()) {
            call.answer().completeExceptionally(new LockstepException("the connection was lost before the "
                    + "coordinator answered the admin request"));
        }
        adminCalls.clear();
        if (state == State.CLOSED) {
            return;
        }
        if (state == State.CONNECTING && sessionId == 0) {
            if (closedReason != null) { // refused for a reason that another try would not change
                state = State.CLOSED;
                firstWelcome.completeExceptionally(new java.io.IOException(closedReason));
                return;
            }
            firstFailed(nodes.answeredNotLeader() ? "coordinator " + nodes.node() + " does not lead its group, and no leader is "
                    + "known yet" : "coordinator " + nodes.node() + " closed the connection during the handshake"
                    + (tls == null ? " (does it require TLS?)" : ""), null);
            return;
        }
        nodes.cut();
        state = State.CUT;
        log.info("connection to coordinator {} lost; reconnecting (session {}, lease {} ms)", address(), sessionId,
                leaseMillis);
        scheduleReconnect();
    }

    private void scheduleReconnect() {
        if (state == State.CLOSED) {
            return;
        }
        checkLease();
        retry = loop.schedule(() -> connect(false), nodes.backoffMillis(), TimeUnit.MILLISECONDS);
    }

    /** Past the lease without contact the session is surely gone: say so to everyone waiting, now. */
    private void checkLease() {
        long silentMillis = (System.nanoTime() - lastContactNanos) / 1_000_000;
        if (unreachable == null && state != State.CONNECTED && silentMillis > leaseMillis) {
            unreachable = String.format(Locale.ROOT, "coordinator %s unreachable for %.1f s, longer than this "
                    + "client's session lease of %.1f s: the session is lost", address(), silentMillis / 1000.0,
                    leaseMillis / 1000.0);
            log.warn("{}; still trying to reconnect", unreachable);
            sessionLost(unreachable);
            resumable = false;
        }
    }

    /** Fails everything pending because the session is gone. */
    private void sessionLost(String why) {
        for (Long id : new ArrayList<>(outstanding.keySet())) {
            Outstanding who = outstanding.remove(id);
            if (who != null) {
                who.onSessionEnded(why, true);
            }
        }
        outbox.clear();
    }

    // ---- sending -------------------------------------------------------------------------------------------------

    /** Registers {@code who} for the replies to {@code request} and sends it (now, or when reconnected). */
    void send(Message.Request request, Outstanding who) {
        String ended = closedReason != null ? closedReason : unreachable;
        if (ended != null) {
            who.onSessionEnded(ended, closedReason == null);
            return;
        }
        outstanding.put(request.requestId(), who);
        if (loop.inEventLoop()) {
            sendOnLoop(request, who); // an await started from a release callback: no task on the per-await path
        } else {
            loop.execute(() -> sendOnLoop(request, who));
        }
    }

    private void sendOnLoop(Message.Request request, Outstanding who) {
        if (closedReason != null || unreachable != null) {
            if (outstanding.remove(request.requestId()) != null) {
                who.onSessionEnded(closedReason != null ? closedReason : unreachable, closedReason == null);
            }
            return;
        }
        push(request);
    }

    /** Sends a frame that expects no reply of its own (CANCEL, ACTION_DONE). */
    void sendOneWay(Message.Request request) {
        onLoop(() -> {
            if (closedReason == null) {
                push(request);
            }
        });
    }

    private void push(Message.Request request) {
        outbox.add(request);
        if (state == State.CONNECTED) {
            if (outbox.ackDueWithRequest()) {
                // Rides in the same write as the request: the coordinator drops the answers it held for us.
                channel.write(new Message.Ack(outbox.acknowledgeNow()), channel.voidPromise());
            }
            wroteSinceBeat = true;
            channel.writeAndFlush(request, channel.voidPromise());
        }
    }

    /**
     * Asks the node this session is on about its group (GROUP; not counted): answered in order, once connected. A
     * connection lost first fails it: the caller asks again.
     */
    CompletableFuture<Message.GroupStatus> groupStatus() {
        CompletableFuture<Message.GroupStatus> answer = new CompletableFuture<>();
        onLoop(() -> {
            if (state != State.CONNECTED) {
                answer.completeExceptionally(new LockstepException("not connected to a coordinator now"));
                return;
            }
            groupQueries.add(answer);
            channel.writeAndFlush(new Message.Group(), channel.voidPromise());
        });
        return answer;
    }

    /**
     * Sends an operator's request (ADMIN; not counted) on the connection this session is on; the future completes
     * with every ADMIN_RESULT part of its answer, in order. A connection lost first fails it: nothing is resent.
     */
    CompletableFuture<List<Message.AdminResult>> admin(Message.AdminOp op, String argument) {
        CompletableFuture<List<Message.AdminResult>> answer = new CompletableFuture<>();
        onLoop(() -> {
            if (state != State.CONNECTED) {
                answer.completeExceptionally(new LockstepException("not connected to a coordinator now"));
                return;
            }
            long id = nextRequestId();
            adminCalls.put(id, new AdminCall(answer, new ArrayList<>()));
            channel.writeAndFlush(new Message.Admin(id, op, argument), channel.voidPromise());
        });
        return answer;
    }

    private record AdminCall(CompletableFuture<List<Message.AdminResult>> answer, List<Message.AdminResult> parts) {
    }

    private void onAdminResult(Message.AdminResult r) {
        AdminCall call = adminCalls.get(r.id());
        if (call == null) {
            return;
        }
        call.parts().add(r);
        if (r.remaining() <= 0 || !r.ok()) {
            adminCalls.remove(r.id());
            call.answer().complete(call.parts());
        }
    }

    /** Forgets a request without waiting for its reply (a local backstop gave up on it). */
    void forget(long requestId) {
        outstanding.remove(requestId);
    }

    private void onLoop(Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
        } else {
            loop.execute(task);
        }
    }

    // ---- receiving -----------------------------------------------------------------------------------------------

    private void onFrame(Channel ch, Message msg) {
        if (ch != channel) {
            return;
        }
        lastContactNanos = System.nanoTime();
        heardSinceBeat = true;
        // A switch expression must name every type: a new frame that is not handled fails the build here. Each
        // arm handles its frame and yields whether it was one a coordinator may send (no object per frame).
        boolean fromCoordinator = switch (msg.type()) {
            case CHALLENGE -> {
                answerChallenge(ch, (Message.Challenge) msg);
                yield true;
            }
            case WELCOME -> {
                onWelcome(ch, (Message.Welcome) msg);
                yield true;
            }
            case PONG -> {
                outbox.coordinatorHas(((Message.Pong) msg).received());
                yield true;
            }
            case ERROR -> {
                onError((Message.Error) msg);
                yield true;
            }
            case OK, RELEASED, RELEASE_PART, FAILED, RUN_ACTION, STATUS, BARRIERS -> {
                route((Message.Reply) msg);
                yield true;
            }
            case GROUP_STATUS -> {
                CompletableFuture<Message.GroupStatus> asked = groupQueries.poll();
                if (asked != null) {
                    asked.complete((Message.GroupStatus) msg);
                }
                yield true;
            }
            case ADMIN_RESULT -> {
                onAdminResult((Message.AdminResult) msg);
                yield true;
            }
            case HELLO, DECLARE, UNDECLARE, AWAIT, CANCEL, ACTION_DONE, ABORT, RESET, QUERY, PING, ACK, GOODBYE, AUTH,
                 LIST, GROUP, ADMIN -> false;
        };
        if (!fromCoordinator) {
            log.warn("coordinator {} sent a {} frame, which only clients send; reconnecting", address(), msg.type());
            ch.close();
        }
    }

    /** The peer is not a Lockstep coordinator ({@code why} says what it is); its connection is being closed. */
    private void notLockstep(String why) {
        String said = "cannot connect to coordinator at " + address() + ": " + why;
        if (sessionId == 0) {
            closedReason = said; // the first connection: connect() fails with this
        } else {
            log.warn("{}; reconnecting", said);
        }
    }

    private void answerChallenge(Channel ch, Message.Challenge challenge) {
        if (authSecret == null) {
            String why = "coordinator " + address() + " requires authentication, and this client has no "
                    + "shared secret to answer with";
            log.debug("{}", why);
            closedReason = sessionId == 0 ? why : closedReason;
            ch.close();
            return;
        }
        ch.writeAndFlush(new Message.Auth(Authentication.answer(authSecret, challenge.nonce(), clientName)));
    }

    private void onError(Message.Error e) {
        if (e.requestId() != 0) {
            route(e);
            return;
        }
        // Connection-level: the coordinator is closing this connection and says why.
        if (e.code() == ErrorCode.NOT_LEADER) {
            log.debug("coordinator {} does not lead its group; the leader is '{}'", nodes.node(), e.message());
            nodes.notLeader(e.message());
            return;
        }
        String why = "coordinator " + nodes.node() + " closed the connection: " + e.message() + " (" + e.code() + ")";
        log.info("{}", why);
        if (sessionId == 0) {
            closedReason = why;
        }
    }

    private void route(Message.Reply reply) {
        outbox.answered();
        Outstanding who = outstanding.get(reply.requestId());
        if (who == null) {
            log.debug("reply to unknown request {} ignored: {}", reply.requestId(), reply);
            return;
        }
        if (who.onReply(reply)) {
            outstanding.remove(reply.requestId(), who);
        }
    }

    /** The pipeline's last handler: hands everything to the session, on the session's loop. */
    private final class Handler extends SimpleChannelInboundHandler<Message> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Message msg) {
            onFrame(ctx.channel(), msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            boolean connected = state == State.CONNECTED && ctx.channel() == channel;
            if (connected && outbox.ackDueAlone()) {
                wroteSinceBeat = true;
                ctx.writeAndFlush(new Message.Ack(outbox.acknowledgeNow()), ctx.voidPromise());
            }
            ctx.fireChannelReadComplete();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            onCut(ctx.channel());
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
            if (c instanceof SSLException && sessionId == 0) {
                closedReason = "TLS with coordinator " + address() + " failed: " + c.getMessage();
            }
            log.debug("connection to coordinator {} failed: {}", address(), c.toString());
            ctx.close();
        }
    }

    // ---- closing -------------------------------------------------------------------------------------------------

    /**
     * Ends the session at once: says GOODBYE, closes the connection, fails everything pending. {@code exiting}: the
     * process is ending, so the barriers this client declared cannot expect it any more.
     */
    CompletableFuture<Void> close(String why, boolean exiting) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        closedReason = why;
        onLoop(() -> {
            State was = state;
            state = State.CLOSED;
            if (heartbeat != null) {
                heartbeat.cancel(false);
            }
            if (retry != null) {
                retry.cancel(false);
            }
            for (Long id : new ArrayList<>(outstanding.keySet())) {
                Outstanding who = outstanding.remove(id);
                if (who != null) {
                    who.onSessionEnded(why, false);
                }
            }
            Channel ch = channel;
            channel = null;
            if (ch != null && was == State.CONNECTED) {
                ch.writeAndFlush(new Message.Goodbye(exiting)).addListener(f -> ch.close().addListener(g -> done.complete(null)));
            } else if (ch != null) {
                ch.close().addListener(g -> done.complete(null));
            } else {
                done.complete(null);
            }
        });
        return done;
    }
}
