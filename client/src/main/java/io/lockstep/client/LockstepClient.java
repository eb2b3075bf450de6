package io.lockstep.client;

import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.FrameDecoder;
import io.lockstep.protocol.FrameEncoder;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongFunction;

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
 * Thread-safe. {@link #close()} ends the session at once: pending awaits fail, and the barriers they waited on
 * break for the other parties, naming this client.
 */
public final class LockstepClient implements AutoCloseable {

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);

    private final Connection connection;
    private final Channel channel;
    private final String name;
    private final String address;
    private final long sessionId;
    private final Duration requestTimeout;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LockstepClient(Connection connection, Channel channel, String name, String address, long sessionId,
                           Duration requestTimeout) {
        this.connection = connection;
        this.channel = channel;
        this.name = name;
        this.address = address;
        this.sessionId = sessionId;
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
        return new DistributedBarrier(this, name, parties, action, null);
    }

    /** The name this client gave the coordinator; parties are named after it. */
    public String name() {
        return name;
    }

    /** The coordinator's address, as given. */
    public String address() {
        return address;
    }

    /** The session the coordinator opened for this client. */
    public long sessionId() {
        return sessionId;
    }

    /** True until {@link #close()} or until the connection is lost. */
    public boolean isOpen() {
        return !closed.get() && connection.lostReason() == null;
    }

    /** Ends the session: pending awaits fail at once, and this client's threads and connection are released. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        String why = "client '" + name + "' was closed";
        connection.markClosed(why);
        channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        connection.failOutstanding(why);
        SharedEventLoop.release();
    }

    @Override
    public String toString() {
        return "LockstepClient[" + name + " -> " + address + ", session " + sessionId + "]";
    }

    /** Requests sent and not yet finished; for tests that check nothing is left pending. */
    int outstandingRequests() {
        return connection.outstandingCount();
    }

    // ---- used by DistributedBarrier --------------------------------------------------------------------------

    /** Sends an AWAIT; {@code contribution} null means a plain await, else an exchange. */
    AwaitCall startAwait(String barrier, long timeoutMillis, Runnable action, byte[] contribution,
                         Executor actionExecutor) {
        long id = connection.nextRequestId();
        AwaitCall call = new AwaitCall(id, barrier, action, actionExecutor, connection);
        connection.send(new Message.Await(id, barrier, timeoutMillis, action != null, contribution != null,
                contribution == null ? NOTHING : contribution), call);
        return call;
    }

    private static final byte[] NOTHING = new byte[0];

    void forget(AwaitCall call) {
        connection.forget(call.requestId);
    }

    Message.Status query(String barrier) {
        return (Message.Status) call(id -> new Message.Query(id, barrier));
    }

    /** Sends a request and blocks for its one reply; maps refusals to exceptions. */
    Message.Reply call(LongFunction<Message.Request> request) {
        long id = connection.nextRequestId();
        Message.Request r = request.apply(id);
        CompletableFuture<Message.Reply> reply = new CompletableFuture<>();
        connection.send(r, new Connection.Outstanding() {
            @Override
            public boolean onReply(Message.Reply m) {
                reply.complete(m);
                return true;
            }

            @Override
            public void onConnectionLost(String why) {
                reply.completeExceptionally(new LockstepException(why));
            }
        });
        Message.Reply m;
        try {
            m = reply.get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            connection.forget(id);
            Thread.currentThread().interrupt();
            throw new LockstepException("interrupted while waiting for the coordinator to answer " + r.type());
        } catch (TimeoutException e) {
            connection.forget(id);
            throw new LockstepException("coordinator " + address + " did not answer " + r.type() + " within "
                    + requestTimeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            throw (LockstepException) e.getCause();
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
        private String host = "localhost";
        private int port = Protocol.DEFAULT_PORT;
        private String clientName;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;

        private Builder() {
        }

        /** {@code host:port}, {@code host} (port 7777) or {@code [ipv6]:port}. */
        public Builder address(String hostAndPort) {
            HostAndPort hp = HostAndPort.parse(hostAndPort, Protocol.DEFAULT_PORT);
            this.host = hp.host();
            this.port = hp.port();
            return this;
        }

        public Builder address(String host, int port) {
            return address(host + ":" + port);
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
         * Connects and completes the handshake.
         *
         * @throws IOException if the coordinator cannot be reached or refuses the handshake; the message says which
         */
        public LockstepClient connect() throws IOException {
            String name = clientName != null ? clientName : defaultClientName();
            String address = HostAndPort.format(host, port);
            Connection connection = new Connection(address);
            EventLoopGroup group = SharedEventLoop.acquire();
            Channel channel = null;
            try {
                Bootstrap b = new Bootstrap()
                        .group(group)
                        .channel(SharedEventLoop.channelType())
                        .option(ChannelOption.TCP_NODELAY, true)
                        .option(ChannelOption.SO_KEEPALIVE, true)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                                connectTimeout.toMillis()))
                        .handler(new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                ch.pipeline()
                                        // The coordinator never sends frames above the default maximum.
                                        .addLast("frameDecoder", new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_BYTES))
                                        .addLast("frameEncoder", FrameEncoder.INSTANCE)
                                        .addLast("connection", connection);
                            }
                        });
                ChannelFuture cf = b.connect(host, port);
                cf.await();
                if (!cf.isSuccess()) {
                    Throwable c = cf.cause();
                    throw new IOException("cannot connect to coordinator at " + address + ": " + describe(c), c);
                }
                channel = cf.channel();
                channel.writeAndFlush(new Message.Hello(name));
                Message.Welcome welcome;
                try {
                    welcome = connection.welcome().get(connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    throw new IOException("coordinator at " + address + " did not complete the handshake within "
                            + connectTimeout.toMillis() + " ms");
                } catch (ExecutionException e) {
                    throw new IOException("handshake with coordinator at " + address + " failed: "
                            + e.getCause().getMessage(), e.getCause());
                }
                return new LockstepClient(connection, channel, name, address, welcome.sessionId(), requestTimeout);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                cleanUp(channel);
                throw new InterruptedIOException("interrupted while connecting to " + address);
            } catch (IOException | RuntimeException e) {
                cleanUp(channel);
                throw e;
            }
        }

        /** Says why a connect failed in plain words, without the transport's internals. */
        private String describe(Throwable c) {
            if (c == null || c instanceof ConnectTimeoutException) {
                return "no answer within " + connectTimeout.toMillis() + " ms";
            } else if (c instanceof ConnectException) {
                return "connection refused";
            } else if (c instanceof UnknownHostException) {
                return "unknown host '" + host + "'";
            }
            return c.getMessage();
        }

        private static void cleanUp(Channel channel) {
            if (channel != null) {
                channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
            SharedEventLoop.release();
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
