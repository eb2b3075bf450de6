package io.lockstep.coordinator.server;

import io.lockstep.protocol.Authentication;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;
import io.lockstep.protocol.ProtocolException;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * One connection: checks the handshake, then hands each frame to the {@link CoreDriver} for its session.
 * Anything malformed or out of order gets an ERROR frame and a closed connection. A connection that does not
 * complete its handshake in time is closed, and so is one whose client stops sending (the driver notices: its sweep
 * fires {@link Event#SILENT}).
 *
 * <p>One instance per channel; all methods run on the channel's event loop.
 */
final class ConnectionHandler extends SimpleChannelInboundHandler<Message> {

    private static final Logger log = LoggerFactory.getLogger(ConnectionHandler.class);

    /**
     * Why a connection ended, for the log line and for the session: only {@link #CLOSED}, the client's side
     * closing it, may leave the session no more than the reconnect grace; the coordinator's own closes leave it
     * the lease.
     */
    enum CloseReason { CLOSED, PROTOCOL_ERROR, SILENT, SLOW_CONSUMER, GOODBYE }

    /**
     * Fired into the pipeline by the {@link CoreDriver}: the client has sent nothing for three heartbeats, or it
     * does not read (or acknowledge) what it is sent.
     */
    enum Event { SILENT, SLOW_CONSUMER }

    private final CoreDriver driver;
    private final int maxFrameBytes;
    private final long handshakeMillis;
    private final byte[] authSecret;
    private final ServerConfig.TlsFiles tls;
    private final ConnectionLimiter limiter;
    private final RateLimitedLog warnings;
    private Link link;
    private InetAddress admitted;
    private boolean helloSeen;
    /** While authentication is required and pending: the HELLO waiting for its AUTH, and the nonce sent. */
    private Message.Hello unauthenticated;
    private byte[] nonce;
    private String clientName;
    private ScheduledFuture<?> handshakeDeadline;
    private CloseReason closeReason = CloseReason.CLOSED;

    ConnectionHandler(CoreDriver driver, ServerConfig config, ConnectionLimiter limiter, RateLimitedLog warnings) {
        this.driver = driver;
        this.maxFrameBytes = config.maxFrameBytes();
        this.handshakeMillis = config.handshakeMillis();
        this.authSecret = config.authSecret();
        this.tls = config.tls();
        this.limiter = limiter;
        this.warnings = warnings;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        link = new Link(ctx.channel());
        InetAddress remote = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
        String refused = limiter.tryAcquire(remote);
        if (refused != null) {
            fail(ctx, ErrorCode.TOO_MANY_CONNECTIONS, refused);
            return;
        }
        admitted = remote;
        handshakeDeadline = ctx.executor().schedule(() -> {
            if (!helloSeen || unauthenticated != null) {
                fail(ctx, ErrorCode.HANDSHAKE_REQUIRED, "no complete handshake within " + handshakeMillis + " ms");
            }
        }, handshakeMillis, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Message msg) {
        if (closeReason == CloseReason.PROTOCOL_ERROR) {
            return;
        }
        driver.metrics().frameReceived(msg.type());
        if (msg instanceof Message.Hello hello) {
            handshake(ctx, hello);
            return;
        }
        if (!helloSeen) {
            fail(ctx, ErrorCode.HANDSHAKE_REQUIRED, "the first frame must be HELLO, got " + msg.type());
            return;
        }
        if (unauthenticated != null) {
            if (msg instanceof Message.Auth auth) {
                authenticate(ctx, auth);
            } else {
                fail(ctx, ErrorCode.AUTH_REQUIRED, "authenticate first: answer the CHALLENGE with AUTH, not "
                        + msg.type());
            }
            return;
        }
        switch (msg.type()) {
            case PING -> driver.ping(link, ((Message.Ping) msg).received());
            case GROUP -> driver.group(link);
            case ADMIN -> admin(ctx, (Message.Admin) msg);
            case ACK -> driver.ack(link, ((Message.Ack) msg).received());
            case GOODBYE -> {
                closeReason = CloseReason.GOODBYE;
                driver.goodbye(link, ((Message.Goodbye) msg).exiting());
                ctx.close();
            }
            case DECLARE, UNDECLARE, AWAIT, CANCEL, ACTION_DONE, ABORT, RESET, QUERY, LIST -> {
                Message.Request r = (Message.Request) msg;
                if (r.requestId() == 0) {
                    fail(ctx, ErrorCode.BAD_REQUEST_ID, "request id 0 is reserved");
                    return;
                }
                driver.request(link, r);
            }
            case AUTH -> fail(ctx, ErrorCode.UNKNOWN_TYPE, "AUTH without a CHALLENGE");
            case HELLO, WELCOME, OK, RELEASED, FAILED, RUN_ACTION, STATUS, ERROR, RELEASE_PART, PONG, CHALLENGE,
                 BARRIERS, GROUP_STATUS, ADMIN_RESULT -> fail(ctx, ErrorCode.UNKNOWN_TYPE, msg.type() + " is sent by the coordinator, "
                    + "not to it");
        }
    }

    /**
     * ADMIN: an operator's request. Taken only where the caller has proved who it is — every connection of a
     * coordinator with a shared secret or client certificates has — or from this machine (loopback); refused with
     * a line saying so otherwise, the connection kept.
     */
    private void admin(ChannelHandlerContext ctx, Message.Admin admin) {
        boolean proved = authSecret != null || (tls != null && tls.clientCa() != null);
        boolean local = ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a
                && a.getAddress() != null && a.getAddress().isLoopbackAddress();
        if (!proved && !local) {
            driver.metrics().framesRejected.labelValues("admin_refused").inc();
            ctx.writeAndFlush(new Message.AdminResult(admin.id(), false, "refused: admin requests need an "
                    + "authenticated client (start the coordinator with --auth-secret, or --tls-client-ca) unless "
                    + "they come from the coordinator's own machine", 0, new byte[0]), ctx.voidPromise());
            return;
        }
        driver.admin(link, admin);
    }

    private void handshake(ChannelHandlerContext ctx, Message.Hello hello) {
        if (helloSeen) {
            fail(ctx, ErrorCode.DUPLICATE_HANDSHAKE, "this connection already completed its handshake");
            return;
        }
        if (hello.magic() != Protocol.MAGIC) {
            fail(ctx, ErrorCode.BAD_MAGIC, String.format("bad magic 0x%08x; this is a Lockstep coordinator",
                    hello.magic()));
            return;
        }
        if (hello.version() < Protocol.MIN_VERSION || hello.version() > Protocol.VERSION) {
            fail(ctx, ErrorCode.UNSUPPORTED_VERSION, "protocol version " + hello.version()
                    + " is not supported; this coordinator speaks versions " + Protocol.MIN_VERSION + " to "
                    + Protocol.VERSION);
            return;
        }
        int nameBytes = hello.clientName().getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes == 0 || nameBytes > Protocol.MAX_CLIENT_NAME_BYTES) {
            fail(ctx, ErrorCode.MALFORMED_FRAME, "client name must be 1.." + Protocol.MAX_CLIENT_NAME_BYTES
                    + " bytes of UTF-8, was " + nameBytes);
            return;
        }
        helloSeen = true;
        clientName = hello.clientName();
        if (authSecret != null) {
            unauthenticated = hello;
            nonce = Authentication.nonce();
            ctx.writeAndFlush(new Message.Challenge(nonce));
            return;
        }
        admit(ctx, hello);
    }

    private void authenticate(ChannelHandlerContext ctx, Message.Auth auth) {
        Message.Hello hello = unauthenticated;
        if (!Authentication.verify(authSecret, nonce, hello.clientName(), auth.mac())) {
            fail(ctx, ErrorCode.AUTH_FAILED, "authentication failed: the client does not hold this coordinator's "
                    + "shared secret");
            return;
        }
        unauthenticated = null;
        admit(ctx, hello);
    }

    private void admit(ChannelHandlerContext ctx, Message.Hello hello) {
        handshakeDeadline.cancel(false);
        handshakeDeadline = null; // not held for the connection's life: 64 bytes a connection at 10,000 of them
        // From now on the client sends something every heartbeat; the driver watches for three of silence.
        driver.hello(link, hello);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof Event e) {
            if (closeReason != CloseReason.CLOSED || !ctx.channel().isActive()) {
                return; // already closing
            }
            if (e == Event.SILENT) {
                closeReason = CloseReason.SILENT;
                log.info("connection from {} ('{}') silent for three heartbeats; closing it",
                        ctx.channel().remoteAddress(), clientName);
                ctx.close();
            } else {
                closeReason = CloseReason.SLOW_CONSUMER;
                ctx.writeAndFlush(new Message.Error(0, ErrorCode.SLOW_CONSUMER, "the connection does not read what "
                        + "it is sent")).addListener(ChannelFutureListener.CLOSE);
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (handshakeDeadline != null) {
            handshakeDeadline.cancel(false);
        }
        if (admitted != null) {
            limiter.release(admitted);
        }
        if (helloSeen && unauthenticated == null && closeReason != CloseReason.GOODBYE) {
            driver.channelClosed(link, switch (closeReason) {
                case CLOSED -> "its connection was closed";
                case SILENT -> "its connection went silent";
                case PROTOCOL_ERROR -> "its connection was closed after a protocol error";
                case SLOW_CONSUMER -> "its connection was closed: it did not read what it was sent";
                case GOODBYE -> throw new AssertionError();
            }, closeReason == CloseReason.CLOSED);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof ProtocolException p) {
            fail(ctx, p.code(), p.getMessage());
        } else if (c instanceof TooLongFrameException) {
            fail(ctx, ErrorCode.FRAME_TOO_LARGE, "frame exceeds the maximum of " + maxFrameBytes + " bytes");
        } else if (c instanceof SSLException) {
            closeReason = CloseReason.PROTOCOL_ERROR;
            driver.metrics().framesRejected.labelValues("tls_failed").inc();
            warnings.warn("closing connection from {}: TLS failed: {}", ctx.channel().remoteAddress(), c.getMessage());
            ctx.close();
        } else if (c instanceof IOException) {
            log.debug("connection {} failed: {}", ctx.channel().remoteAddress(), c.toString());
            ctx.close();
        } else {
            log.error("unexpected failure on connection {}", ctx.channel().remoteAddress(), c);
            fail(ctx, ErrorCode.INTERNAL, "internal error");
        }
    }

    private void fail(ChannelHandlerContext ctx, ErrorCode code, String message) {
        if (closeReason == CloseReason.PROTOCOL_ERROR) {
            return; // one error frame per connection; the rest of its bytes are ignored
        }
        closeReason = CloseReason.PROTOCOL_ERROR;
        driver.metrics().framesRejected.labelValues(code.name().toLowerCase()).inc();
        warnings.warn("closing connection from {}{}: {} {}", ctx.channel().remoteAddress(),
                clientName == null ? "" : " ('" + clientName + "')", code, message);
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(new Message.Error(0, code, message)).addListener(ChannelFutureListener.CLOSE);
    }
}
