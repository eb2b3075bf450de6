package io.lockstep.client;

import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongFunction;
import org.slf4j.Logger;

/**
 * A connection to a Lockstep coordinator, through which this process waits on named barriers.
 *
 * <pre>{@code
 * try (LockstepClient client = LockstepClient.connect("coordinator:7777")) {
 *     DistributedBarrier barrier = client.barrier("game", 4);
 *     barrier.await();
 * }
 * }</pre>
 *
 * Thread-safe. The client keeps a session with the coordinator that survives a cut connection for its lease:
 * it reconnects by itself and awaits in flight complete exactly once. {@link #close()} ends the session at once:
 * pending awaits fail, and the barriers they waited on break for the other parties, naming this client.
 */
public final class LockstepClient implements AutoCloseable {

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
    private static final byte[] NOTHING = new byte[0];

    private static final Logger log = Logging.logger(LockstepClient.class); // before any use of Netty: see Logging

    private final ClientSession session;
    private final String name;
    private final Duration requestTimeout;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LockstepClient(ClientSession session, String name, Duration requestTimeout) {
        this.session = session;
        this.name = name;
        this.requestTimeout = requestTimeout;
    }

    /** Connects to the coordinator at {@code host:port} (the port defaults to 7777) with default options. */
    public static LockstepClient connect(String hostAndPort) throws IOException {
        return builder().address(hostAndPort).connect();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * A handle on the barrier {@code name} with {@code parties} parties, created on the coordinator by the first
     * declaration. Checked with the coordinator before it returns.
     *
     * @throws IllegalArgumentException if the name is empty or over 256 bytes of UTF-8, parties is below 1, or
     *                                  the barrier exists with another number of parties (the message names both)
     */
    public DistributedBarrier barrier(String name, int parties) {
        return barrier(name, parties, null);
    }

    /**
     * As {@link #barrier(String, int)}, with an action that the last party to arrive, if it awaits through this
     * handle, runs before any party is released. If the action throws, the barrier breaks and that party's
     * await throws the action's exception.
     */
    public DistributedBarrier barrier(String name, int parties, Runnable action) {
        Objects.requireNonNull(name, "name");
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > Protocol.MAX_BARRIER_NAME_BYTES) {
            throw new IllegalArgumentException("barrier name must be 1.." + Protocol.MAX_BARRIER_NAME_BYTES
                    + " bytes of UTF-8, was " + bytes + " bytes: '" + name + "'");
        }
        if (parties < 1) {
            throw new IllegalArgumentException("parties must be at least 1, was " + parties);
        }
        call(id -> new Message.Declare(id, name, parties));
        session.declared(name, parties);
        return new DistributedBarrier(this, name, parties, action, null);
    }

    /**
     * This client no longer takes part in the barrier {@code name}: the coordinator drops its declaration (and forgets
     * the barrier once nobody declares it and nobody waits there), so a long-lived client does not keep every barrier
     * it ever used alive. Awaits on its handles then fail until it declares the barrier again with
     * {@link #barrier(String, int)}.
     *
     * @throws IllegalStateException if an await of this client still waits at the barrier
     * @throws LockstepException     if this client never declared it
     */
    public void forget(String name) {
        try {
            call(id -> new Message.Undeclare(id, name));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        session.undeclared(name);
    }

    /** Every barrier the coordinator holds, by name, with who is waiting and for how long. */
    public List<BarrierStatus> barriers() {
        Message.Barriers all = (Message.Barriers) call(Message.ListBarriers::new);
        return all.barriers().stream().map(LockstepClient::status).toList();
    }

    /**
     * The barrier {@code name} as the coordinator sees it now.
     *
     * @throws LockstepException if the coordinator holds no such barrier
     */
    public BarrierStatus status(String barrier) {
        Message.Status s = query(barrier);
        return status(new Message.BarrierInfo(barrier, s.parties(), s.generation(), s.broken(), s.brokenReason(),
                s.waiting()));
    }

    /**
     * The coordinator's group as the node this client is connected to sees it — who leads, each node's role, and on
     * the leader how far each follower's log reaches — or nothing for a single coordinator.
     */
    public Optional<GroupStatus> group() {
        Message.GroupStatus g = answer(session.groupStatus(), requestTimeout, "asking the coordinator about its group",
                "say within " + requestTimeout.toMillis() + " ms who leads its group");
        if (g.members().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new GroupStatus(g.self(), g.leader(), g.term(), g.commitIndex(), g.members().stream()
                .map(m -> new GroupStatus.Node(m.id(), m.address(), m.clientAddress(), m.role(), m.matchIndex(),
                        m.lastContactMillis() < 0 ? null : Duration.ofMillis(m.lastContactMillis())))
                .toList()));
    }

    /**
     * Hands the lead of the coordinator group to node {@code node} (its id, as in {@code --peers}); returns what the
     * leader said once it is done. The leader's clients — this one too — then resume on the new leader.
     *
     * @throws LockstepException with the coordinator's reason if it refused (not a group, not a member, a caller that
     *                           did not authenticate), or if the connection was lost before it answered (the
     *                           leader steps down as it hands over: ask {@link #group()} who leads then)
     */
    public String transferLeadership(String node) {
        return admin(Message.AdminOp.TRANSFER_LEADER, node, Duration.ofSeconds(15)).get(0).message();
    }

    /**
     * Adds a node to the coordinator group: {@code member} is {@code id=host:port}, its Raft address, as in
     * {@code --peers}. Start the node first, empty, with {@code --join}: the leader brings it up to date before the
     * group counts it. One change of the members at a time.
     *
     * @throws LockstepException with the coordinator's reason if it refused (already a member, a change under way, a
     *                           single coordinator, a caller that did not authenticate)
     */
    public String addMember(String member) {
        return admin(Message.AdminOp.ADD_MEMBER, member, Duration.ofSeconds(60)).get(0).message();
    }

    /**
     * Removes node {@code id} from the coordinator group (a node whose machine is gone for good, say); refused where
     * the group would lose its majority, for the leader itself (hand the lead over first), or while another change
     * is under way.
     */
    public String removeMember(String id) {
        return admin(Message.AdminOp.REMOVE_MEMBER, id, Duration.ofSeconds(30)).get(0).message();
    }

    /**
     * A snapshot of the whole state — barriers, declarations, sessions — as the leader (or the single coordinator)
     * has applied it: what {@code lockstep-coordinator --restore FILE} starts a group from.
     */
    public byte[] snapshot() {
        List<Message.AdminResult> parts = admin(Message.AdminOp.SNAPSHOT, "", requestTimeout.plusSeconds(30));
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (Message.AdminResult r : parts) {
            all.writeBytes(r.data());
        }
        return all.toByteArray();
    }

    /**
     * An uncounted request's answer, within {@code within}; a LockstepException saying what was being done
     * ({@code doing}) if interrupted, what the coordinator did not do ({@code notDone}) if it timed out.
     */
    private <T> T answer(java.util.concurrent.CompletableFuture<T> answer, Duration within, String doing,
                         String notDone) {
        try {
            return answer.get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LockstepException("interrupted while " + doing);
        } catch (ExecutionException e) {
            throw new LockstepException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new LockstepException("coordinator " + address() + " did not " + notDone);
        }
    }

    private List<Message.AdminResult> admin(Message.AdminOp op, String argument, Duration within) {
        List<Message.AdminResult> parts = answer(session.admin(op, argument), within,
                "waiting for the coordinator's answer", "answer within " + within.toSeconds() + " s");
        Message.AdminResult last = parts.get(parts.size() - 1);
        if (!last.ok()) {
            throw new LockstepException(last.message());
        }
        return parts;
    }

    /** Breaks the barrier {@code name} until it is reset, whoever declared it (an operator's abort). */
    public void abort(String barrier) {
        call(id -> new Message.Abort(id, barrier));
    }

    /** Resets the barrier {@code name}: its waiters are broken and it is fresh at once (an operator's reset). */
    public void reset(String barrier) {
        call(id -> new Message.Reset(id, barrier));
    }

    private static BarrierStatus status(Message.BarrierInfo i) {
        return new BarrierStatus(i.name(), i.parties(), i.generation(),
                i.broken() ? Optional.of(i.brokenReason()) : Optional.empty(),
                i.waiting().stream().map(w -> new BarrierStatus.Waiting(w.party(), Duration.ofMillis(w.waitedMillis())))
                        .toList());
    }

    /** The name this client gave the coordinator; parties are named after it. */
    public String name() {
        return name;
    }

    /** The coordinator's address, as given. */
    public String address() {
        return session.address();
    }

    /** The current session's id (a new one after a session was lost). */
    public long sessionId() {
        return session.sessionId();
    }

    /** True until {@link #close()}. A client whose connection is cut stays open and reconnects by itself. */
    public boolean isOpen() {
        return !closed.get();
    }

    /**
     * Ends the session at once (it gets no lease): pending awaits fail, the barriers they waited on break for the
     * other parties, naming this client, and the client's connection and threads are released.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        ExitHook.unregister(this);
        try {
            session.close("client '" + name + "' was closed", false).get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // the connection is closing anyway; nothing is left waiting on it
        } finally {
            SharedEventLoop.release();
        }
    }

    /**
     * As {@link #close()} while the JVM exits: says GOODBYE, and leaves the shared threads to die with the process.
     * Completes when the GOODBYE is written (or at once if the client was closed already).
     */
    CompletableFuture<Void> closeOnExit() {
        if (!closed.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        log.debug("the process is exiting; ending session {} of client '{}'", session.sessionId(), name);
        return session.close("the process of client '" + name + "' is exiting", true);
    }

    @Override
    public String toString() {
        return "LockstepClient[" + name + " -> " + session.address() + ", session " + session.sessionId() + "]";
    }

    /** Requests sent and not yet finished; for tests that check nothing is left pending. */
    int outstandingRequests() {
        return session.outstandingCount();
    }

    // ---- used by DistributedBarrier --------------------------------------------------------------------------

    /** Sends an AWAIT; {@code contribution} null means a plain await, else an exchange. */
    AwaitCall startAwait(String barrier, long timeoutMillis, Runnable action, byte[] contribution,
                         Executor actionExecutor) {
        long id = session.nextRequestId();
        AwaitCall call = new AwaitCall(id, barrier, action, actionExecutor, session);
        session.send(new Message.Await(id, barrier, timeoutMillis, action != null, contribution != null,
                contribution == null ? NOTHING : contribution), call);
        return call;
    }

    void forget(AwaitCall call) {
        session.forget(call.requestId);
    }

    Message.Status query(String barrier) {
        return (Message.Status) call(id -> new Message.Query(id, barrier));
    }

    /** Sends a request and blocks for its one reply; maps refusals to exceptions. */
    Message.Reply call(LongFunction<Message.Request> request) {
        long id = session.nextRequestId();
        Message.Request r = request.apply(id);
        CompletableFuture<Message.Reply> reply = new CompletableFuture<>();
        session.send(r, new ClientSession.Outstanding() {
            @Override
            public boolean onReply(Message.Reply m) {
                reply.complete(m);
                return true;
            }

            @Override
            public void onSessionEnded(String why, boolean lost) {
                reply.completeExceptionally(new LockstepException(why));
            }
        });
        Message.Reply m;
        try {
            m = reply.get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            session.forget(id);
            Thread.currentThread().interrupt();
            throw new LockstepException("interrupted while waiting for the coordinator to answer " + r.type());
        } catch (TimeoutException e) {
            session.forget(id);
            throw new LockstepException("coordinator " + address() + " did not answer " + r.type() + " within "
                    + requestTimeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            // Made anew here, so that the stack trace shows this call; the session's own is the cause.
            throw new LockstepException(e.getCause().getMessage(), e.getCause());
        }
        if (m instanceof Message.Error err) {
            if (err.code() == ErrorCode.INVALID_ARGUMENT || err.code() == ErrorCode.PARTIES_MISMATCH) {
                throw new IllegalArgumentException(err.message());
            }
            throw new LockstepException(err.message() + " (" + err.code() + ")");
        }
        return m;
    }

    /** Options for a {@link LockstepClient}; {@link #connect()} makes one. */
    public static final class Builder {
        private List<HostAndPort> nodes = List.of(new HostAndPort("localhost", Protocol.DEFAULT_PORT));
        private String clientName;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private Duration sessionLease;
        private byte[] authSecret;
        private Path tlsTrust;
        private Path tlsCertificate;
        private Path tlsKey;
        private boolean tls;
        private boolean closeOnExit = true;

        private Builder() {
        }

        /** The coordinator's shared secret, if it requires authentication (the secret itself never crosses the wire). */
        public Builder authSecret(byte[] secret) {
            this.authSecret = Objects.requireNonNull(secret, "secret").clone();
            return this;
        }

        /**
         * The shared secret from {@code file} if it is not null, else from the environment variable
         * {@code LOCKSTEP_AUTH_SECRET} if it is set, else none: how Lockstep's own programs take it.
         */
        public Builder authSecretFromFileOrEnvironment(Path file) throws IOException {
            if (file != null) {
                return authSecretFile(file);
            }
            String env = System.getenv("LOCKSTEP_AUTH_SECRET");
            return env == null || env.isBlank() ? this : authSecret(env.strip().getBytes(StandardCharsets.UTF_8));
        }

        /** Reads the shared secret from a file (surrounding whitespace ignored). */
        public Builder authSecretFile(Path file) throws IOException {
            return authSecret(Files.readString(file, StandardCharsets.UTF_8).strip().getBytes(StandardCharsets.UTF_8));
        }

        /**
         * Connects with TLS, trusting coordinator certificates signed by the CA in {@code trustPem} (PEM), or the
         * JVM's default trust store when null. The certificate must name the host connected to.
         */
        public Builder tls(Path trustPem) {
            this.tls = true;
            this.tlsTrust = trustPem;
            return this;
        }

        /** The certificate (PEM chain) and PKCS#8 key this client presents to a coordinator that requires one. */
        public Builder tlsClientCertificate(Path certificatePem, Path keyPem) {
            this.tls = true;
            this.tlsCertificate = Objects.requireNonNull(certificatePem, "certificatePem");
            this.tlsKey = Objects.requireNonNull(keyPem, "keyPem");
            return this;
        }

        private SslContext sslContext() throws IOException {
            if (!tls) {
                return null;
            }
            SslContextBuilder b = SslContextBuilder.forClient();
            if (tlsTrust != null) {
                b.trustManager(tlsTrust.toFile());
            }
            if (tlsCertificate != null) {
                b.keyManager(tlsCertificate.toFile(), tlsKey.toFile());
            }
            try {
                return b.build();
            } catch (SSLException | IllegalArgumentException e) {
                throw new IOException("cannot set up TLS: " + e.getMessage(), e);
            }
        }

        /**
         * {@code host:port}, {@code host} (port 7777) or {@code [ipv6]:port}; for a replicated group, its nodes
         * separated by commas ({@code h1:7777,h2:7777,h3:7777}): the client finds the leader (a node that does not
         * lead names the one that does) and, if the leader dies, resumes its session on the next one.
         */
        public Builder address(String hostAndPort) {
            this.nodes = HostAndPort.parseAll(hostAndPort, Protocol.DEFAULT_PORT);
            return this;
        }

        public Builder address(String host, int port) {
            return address(HostAndPort.format(host, port));
        }

        /** The name parties of this client carry in the coordinator's messages (default: host name and pid). */
        public Builder clientName(String clientName) {
            int bytes = Objects.requireNonNull(clientName, "clientName").getBytes(StandardCharsets.UTF_8).length;
            if (bytes == 0 || bytes > Protocol.MAX_CLIENT_NAME_BYTES) {
                throw new IllegalArgumentException("client name must be 1.." + Protocol.MAX_CLIENT_NAME_BYTES
                        + " bytes of UTF-8, was " + bytes);
            }
            this.clientName = clientName;
            return this;
        }

        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = positive(connectTimeout, "connect timeout");
            return this;
        }

        /** How long {@code barrier()}, {@code reset()}, {@code abort()} and queries wait for an answer. */
        public Builder requestTimeout(Duration requestTimeout) {
            this.requestTimeout = positive(requestTimeout, "request timeout");
            return this;
        }

        /**
         * How long the session should outlive a cut connection (default: the coordinator's, 10 s; it grants
         * within its own bounds). Within the lease the client reconnects and nothing is lost; past it, the
         * barriers this client waits on break for the others, naming it.
         */
        public Builder sessionLease(Duration lease) {
            this.sessionLease = positive(lease, "session lease");
            return this;
        }

        /**
         * Whether the client ends its session when the JVM exits — normally, or on SIGINT or SIGTERM — as
         * {@link LockstepClient#close()} would, so that the other parties learn at once that it is gone (default:
         * true). Without it, they learn when the coordinator finds the connection closed, about a second later.
         */
        public Builder closeOnExit(boolean closeOnExit) {
            this.closeOnExit = closeOnExit;
            return this;
        }

        /**
         * Connects and completes the handshake.
         *
         * @throws IOException if the coordinator cannot be reached or refuses the handshake; the message says which
         */
        public LockstepClient connect() throws IOException {
            String name = clientName != null ? clientName : defaultClientName();
            EventLoopGroup group = SharedEventLoop.acquire();
            int lease = sessionLease == null ? 0 : (int) Math.min(Integer.MAX_VALUE, sessionLease.toMillis());
            int timeout = (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis());
            SslContext ssl;
            try {
                ssl = sslContext();
            } catch (IOException e) {
                SharedEventLoop.release();
                throw e;
            }
            ClientSession session = new ClientSession(group.next(), nodes, name, lease, timeout, authSecret, ssl);
            try {
                session.start().get(2L * timeout + 1000, TimeUnit.MILLISECONDS);
                LockstepClient client = new LockstepClient(session, name, requestTimeout);
                if (closeOnExit) {
                    ExitHook.register(client);
                }
                return client;
            } catch (ExecutionException e) {
                fail(session);
                Throwable c = e.getCause();
                throw c instanceof IOException io ? io : new IOException(c.getMessage(), c);
            } catch (TimeoutException e) {
                fail(session);
                throw new IOException("coordinator at " + session.address() + " did not complete the handshake within "
                        + timeout + " ms");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail(session);
                throw new InterruptedIOException("interrupted while connecting to " + session.address());
            }
        }

        private static void fail(ClientSession session) {
            try {
                session.close("connect failed", false).get(5, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // nothing more to release
            } finally {
                SharedEventLoop.release();
            }
        }

        private static Duration positive(Duration d, String what) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " must be positive, was " + d);
            }
            return d;
        }

        private static String defaultClientName() {
            String host = System.getenv("HOSTNAME");
            if (host == null || host.isBlank()) {
                try {
                    host = InetAddress.getLocalHost().getHostName();
                } catch (IOException e) {
                    host = "localhost";
                }
            }
            return host + "-" + ProcessHandle.current().pid();
        }
    }
}
