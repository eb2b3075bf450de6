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
 * the barriers again.
 *
 * <p>State is confined to one event loop ({@link #loop}); {@link #send} and {@link #close} may be called from
 * any thread. The outstanding map is concurrent because callers add to it from their own threads.
 */
final class ClientSession {

    private static final Logger log = Logging.logger(ClientSession.class);
    private static final long MAX_BACKOFF_MILLIS = 1_000;
    /** How long a client connecting to a group that has no leader yet waits before it asks its nodes again. */
    private static final long ELECTION_RETRY_MILLIS = 100;
    /**
     * The most backoff once a node has said it does not lead (a group, electing or elected): its jittered wait, half
     * to all of it, is then about the election retry of a first connection.
     */
    private static final long GROUP_MAX_BACKOFF_MILLIS = 2 * ELECTION_RETRY_MILLIS;
    /** ... and before it follows a node's word on who leads, once it has asked every node. */
    private static final long REDIRECT_RETRY_MILLIS = 10;
    /**
     * The coordinator holds each answer until it is acknowledged. An ACK ahead of a request costs a few bytes in
     * the same write, so one goes out with the first request after this many answers ...
     */
    private static final int ACK_WITH_REQUEST_AFTER = 8;
    /** ... and one on its own, which costs a packet, only after this many with no request to carry it. */
    private static final int ACK_ALONE_AFTER = 64;

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
     * The coordinators this client may reach: one, or the nodes of a group (a node that does not lead may name the
     * one that does, which is then added). The one connected or tried now is {@link #current}. Loop-confined.
     */
    private final List<HostAndPort> nodes;
    private int current;
    /** Every node, as given: for messages about the session rather than one connection. */
    private final String address;
    private final String clientName;
    private final int requestedLeaseMillis;
    private final int connectTimeoutMillis;
    private final Map<Long, Outstanding> outstanding = new ConcurrentHashMap<>();
    private final Map<String, Integer> declared = new ConcurrentHashMap<>();
    private final AtomicLong requestIds = new AtomicLong();
    private final CompletableFuture<Message.Welcome> firstWelcome = new CompletableFuture<>();

    // Loop-confined from here on.
    private State state = State.CONNECTING;
    /** While connecting the first time: why each node tried failed, the first failure's cause, the deadline. */
    private final List<String> firstFailures = new ArrayList<>();
    private Throwable firstCause;
    private long firstDeadlineNanos;
    /** A node that does not lead named the one that does: the next attempt goes there. */
    private boolean redirect;
    /** Some node answered that it does not lead: a group, electing or elected. */
    private boolean leaderless;
    /** The connection now (or last) answered that its node does not lead. */
    private boolean answeredNotLeader;
    private Channel channel;
    private volatile long sessionId;
    private int leaseMillis;
    private int heartbeatMillis;
    /** GROUP queries sent on the current connection and not yet answered, oldest first. */
    private final ArrayDeque<CompletableFuture<Message.GroupStatus>> groupQueries = new ArrayDeque<>();
    /** Counted frames sent and not yet acknowledged by the coordinator, oldest first. */
    private final ArrayDeque<Message.Request> outbox = new ArrayDeque<>();
    private long sent;
    private long received;
    private long acknowledged;
    private long lastContactNanos = System.nanoTime();
    /** Whether this end wrote, and heard, anything since the last heartbeat: if both, the beat sends nothing. */
    private boolean wroteSinceBeat;
    private boolean heardSinceBeat;
    private long backoffMillis;
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
        this.nodes = new ArrayList<>(nodes);
        this.address = String.join(",", nodes.stream().map(HostAndPort::toString).toList());
        this.clientName = clientName;
        this.requestedLeaseMillis = requestedLeaseMillis;
        this.connectTimeoutMillis = connectTimeoutMillis;
    }

    String address() {
        return address;
    }

    /** The node connected or tried now. */
    private HostAndPort node() {
        return nodes.get(current);
    }

    /** Tries the next node next time (after a failure, a cut, or a node that does not lead and names none). */
    private void nextNode() {
        current = (current + 1) % nodes.size();
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
            firstDeadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(connectTimeoutMillis);
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
        int attemptMillis = first ? Math.max(Math.min(connectTimeoutMillis, 1_000), connectTimeoutMillis / nodes.size())
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
                            SslHandler ssl = tls.newHandler(ch.alloc(), node().host(), node().port());
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
        HostAndPort node = node();
        ChannelFuture cf = b.connect(node.host(), node.port());
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                String why = "cannot connect to coordinator at " + node + ": " + describe(f.cause(), node);
                if (first) {
                    firstFailed(why, f.cause());
                } else {
                    log.debug("{}", why);
                    nextNode();
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
            answeredNotLeader = false;
            ch.writeAndFlush(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, clientName, requestedLeaseMillis,
                    first || !resumable ? 0 : sessionId, first || !resumable ? 0 : received));
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

    /**
     * The first connection failed ({@code why}). With more nodes to try, it tries the next (or the one a node that
     * does not lead named); a group whose nodes answered that they do not lead is tried again, a little later, until
     * the connect timeout: it is electing a leader. Otherwise connecting fails, saying why for each node.
     */
    private void firstFailed(String why, Throwable cause) {
        firstFailures.add(why);
        if (firstFailures.size() == 1) {
            firstCause = cause;
        }
        boolean redirected = redirect;
        redirect = false;
        if (!redirected) {
            nextNode();
        }
        boolean untried = firstFailures.size() < nodes.size();
        // Within the connect timeout, whatever happens: nodes that name each other as leader must not spin.
        if (System.nanoTime() < firstDeadlineNanos && (redirected || untried || leaderless)) {
            long delay = untried ? 0 : redirected ? REDIRECT_RETRY_MILLIS : ELECTION_RETRY_MILLIS;
            if (!untried) {
                firstFailures.clear(); // a new round over the nodes: the last one's reasons are what failing says
            }
            retry = loop.schedule(() -> connect(true), delay, TimeUnit.MILLISECONDS);
            return;
        }
        state = State.CLOSED;
        String all = firstFailures.size() == 1 ? firstFailures.get(0) : "cannot connect to any coordinator of "
                + address + ": " + String.join("; ", firstFailures);
        firstWelcome.completeExceptionally(new java.io.IOException(all, firstCause));
    }

    /**
     * A node said it does not lead its group ({@code hint}: the leader's address, or empty). The next attempt goes
     * to the leader it named (a node this client was not given is added), else to the next node, at once.
     */
    private void notLeader(String hint) {
        leaderless = true;
        answeredNotLeader = true;
        if (hint.isEmpty()) {
            return;
        }
        try {
            HostAndPort leader = HostAndPort.parse(hint, Protocol.DEFAULT_PORT);
            int i = nodes.indexOf(leader);
            if (i < 0) {
                nodes.add(leader);
                i = nodes.size() - 1;
            }
            current = i;
            redirect = true;
            backoffMillis = 0;
        } catch (IllegalArgumentException e) {
            log.debug("a node named '{}' as its leader, which is no address: {}", hint, e.getMessage());
        }
    }

    private void onWelcome(Channel ch, Message.Welcome w) {
        boolean first = sessionId == 0;
        if (!first && !w.resumed()) {
            String why = "this client's session " + sessionId + " with coordinator " + address + " was lost: "
                    + (w.note().isEmpty() ? "the coordinator did not resume it" : w.note());
            log.warn("{}; continuing in new session {}", why, w.sessionId());
            sessionLost(why);
        }
        sessionId = w.sessionId();
        leaseMillis = w.leaseMillis();
        heartbeatMillis = Math.max(10, w.heartbeatMillis());
        state = State.CONNECTED;
        unreachable = null;
        backoffMillis = 0;
        lastContactNanos = System.nanoTime();
        if (w.resumed()) {
            acknowledge(w.received());
            for (Message.Request r : outbox) {
                ch.write(r, ch.voidPromise()); // what the coordinator never got
            }
            ch.flush();
            log.info("session {} resumed on coordinator {} ({} frames re-sent)", sessionId, address, outbox.size());
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
            log.info("coordinator {} silent for {} ms; reconnecting", address, silentMillis);
            channel.close(); // channelInactive starts the reconnect
            return;
        }
        boolean busy = wroteSinceBeat && heardSinceBeat;
        wroteSinceBeat = false;
        heardSinceBeat = false;
        if (busy) {
            return; // both ends heard from each other within this heartbeat: a PING would tell nothing new
        }
        channel.writeAndFlush(new Message.Ping(acknowledgeNow()), channel.voidPromise());
    }

    private void onCut(Channel ch) {
        if (ch != channel) {
            return;
        }
        channel = null;
        for (CompletableFuture<Message.GroupStatus> asked; (asked = groupQueries.poll()) != null; ) {
            asked.completeExceptionally(new LockstepException("the connection was lost before the group answered"));
        }
        if (state == State.CLOSED) {
            return;
        }
        if (state == State.CONNECTING && sessionId == 0) {
            if (closedReason != null) { // refused for a reason that another try would not change
                state = State.CLOSED;
                firstWelcome.completeExceptionally(new java.io.IOException(closedReason));
                return;
            }
            firstFailed(answeredNotLeader ? "coordinator " + node() + " does not lead its group, and no leader is "
                    + "known yet" : "coordinator " + node() + " closed the connection during the handshake"
                    + (tls == null ? " (does it require TLS?)" : ""), null);
            return;
        }
        if (!redirect) {
            nextNode(); // the node may be down: a group's next one may lead now
        }
        redirect = false;
        state = State.CUT;
        log.info("connection to coordinator {} lost; reconnecting (session {}, lease {} ms)", address, sessionId,
                leaseMillis);
        scheduleReconnect();
    }

    private void scheduleReconnect() {
        if (state == State.CLOSED) {
            return;
        }
        checkLease();
        // A group elects a new leader in a few hundred milliseconds: waiting up to a second between tries would add
        // most of that again to every failover. A single coordinator that is down gets the longer backoff.
        long cap = leaderless ? GROUP_MAX_BACKOFF_MILLIS : MAX_BACKOFF_MILLIS;
        backoffMillis = backoffMillis == 0 ? 50 : Math.min(cap, backoffMillis * 2);
        long delay = backoffMillis / 2 + (long) (Math.random() * backoffMillis / 2);
        retry = loop.schedule(() -> connect(false), delay, TimeUnit.MILLISECONDS);
    }

    /** Past the lease without contact the session is surely gone: say so to everyone waiting, now. */
    private void checkLease() {
        long silentMillis = (System.nanoTime() - lastContactNanos) / 1_000_000;
        if (unreachable == null && state != State.CONNECTED && silentMillis > leaseMillis) {
            unreachable = String.format(Locale.ROOT, "coordinator %s unreachable for %.1f s, longer than this "
                    + "client's session lease of %.1f s: the session is lost", address, silentMillis / 1000.0,
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
        sent = 0;
        received = 0;
        acknowledged = 0; // a new session counts from zero; a stale count here would hold back every ACK
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
        sent++;
        if (state == State.CONNECTED) {
            if (received - acknowledged >= ACK_WITH_REQUEST_AFTER) {
                // Rides in the same write as the request: the coordinator drops the answers it held for us.
                channel.write(new Message.Ack(acknowledgeNow()), channel.voidPromise());
            }
            wroteSinceBeat = true;
            channel.writeAndFlush(request, channel.voidPromise());
        }
    }

    /** The count of answers received, for a PING or ACK about to be written: from now on they are acknowledged. */
    private long acknowledgeNow() {
        acknowledged = received;
        return received;
    }

    private void acknowledge(long coordinatorReceived) {
        while (!outbox.isEmpty() && sent - outbox.size() < coordinatorReceived) {
            outbox.poll();
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
                acknowledge(((Message.Pong) msg).received());
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
            case HELLO, DECLARE, UNDECLARE, AWAIT, CANCEL, ACTION_DONE, ABORT, RESET, QUERY, PING, ACK, GOODBYE, AUTH,
                 LIST, GROUP -> false;
        };
        if (!fromCoordinator) {
            log.warn("coordinator {} sent a {} frame, which only clients send; reconnecting", address, msg.type());
            ch.close();
        }
    }

    /** The peer is not a Lockstep coordinator ({@code why} says what it is); its connection is being closed. */
    private void notLockstep(String why) {
        String said = "cannot connect to coordinator at " + address + ": " + why;
        if (sessionId == 0) {
            closedReason = said; // the first connection: connect() fails with this
        } else {
            log.warn("{}; reconnecting", said);
        }
    }

    private void answerChallenge(Channel ch, Message.Challenge challenge) {
        if (authSecret == null) {
            String why = "coordinator " + address + " requires authentication, and this client has no "
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
            log.debug("coordinator {} does not lead its group; the leader is '{}'", node(), e.message());
            notLeader(e.message());
            return;
        }
        String why = "coordinator " + node() + " closed the connection: " + e.message() + " (" + e.code() + ")";
        log.info("{}", why);
        if (sessionId == 0) {
            closedReason = why;
        }
    }

    private void route(Message.Reply reply) {
        received++;
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
            if (connected && received - acknowledged >= ACK_ALONE_AFTER) {
                wroteSinceBeat = true;
                ctx.writeAndFlush(new Message.Ack(acknowledgeNow()), ctx.voidPromise());
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
                closedReason = "TLS with coordinator " + address + " failed: " + c.getMessage();
            }
            log.debug("connection to coordinator {} failed: {}", address, c.toString());
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
