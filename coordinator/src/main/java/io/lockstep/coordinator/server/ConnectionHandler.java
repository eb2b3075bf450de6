package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.Command;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;
import io.lockstep.protocol.ProtocolException;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One connection: completes the handshake, then turns each request frame into a {@link Command} for the
 * {@link CoreDriver}. Anything malformed or out of order gets an ERROR frame and a closed connection.
 *
 * <p>One instance per channel; all methods run on the channel's event loop.
 */
final class ConnectionHandler extends SimpleChannelInboundHandler<Message> {

    private static final Logger log = LoggerFactory.getLogger(ConnectionHandler.class);

    /** Why a connection ended, for the log line and the reason given to waiting parties. */
    enum CloseReason { CLIENT_CLOSED, PROTOCOL_ERROR }

    private final CoreDriver driver;
    private final AtomicLong sessionIds;
    private final int maxFrameBytes;
    private final String coordinatorName;
    private long session; // 0 until the handshake completes
    private String clientName;
    private CloseReason closeReason = CloseReason.CLIENT_CLOSED;

    ConnectionHandler(CoreDriver driver, AtomicLong sessionIds, int maxFrameBytes, String coordinatorName) {
        this.driver = driver;
        this.sessionIds = sessionIds;
        this.maxFrameBytes = maxFrameBytes;
        this.coordinatorName = coordinatorName;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Message msg) {
        if (msg instanceof Message.Hello hello) {
            handshake(ctx, hello);
            return;
        }
        if (session == 0) {
            fail(ctx, 0, ErrorCode.HANDSHAKE_REQUIRED, "the first frame must be HELLO, got " + msg.type());
            return;
        }
        if (!(msg instanceof Message.Request request)) {
            fail(ctx, 0, ErrorCode.UNKNOWN_TYPE, msg.type() + " is sent by the coordinator, not to it");
            return;
        }
        if (request.requestId() == 0) {
            fail(ctx, 0, ErrorCode.BAD_REQUEST_ID, "request id 0 is reserved");
            return;
        }
        driver.submit(toCommand(request));
    }

    private Command toCommand(Message.Request r) {
        // Java 17: a switch over the type enum is exhaustive-checked; each case casts to its record.
        return switch (r.type()) {
            case DECLARE -> {
                Message.Declare d = (Message.Declare) r;
                yield new Command.Declare(session, d.requestId(), d.barrier(), d.parties());
            }
            case AWAIT -> {
                Message.Await a = (Message.Await) r;
                yield new Command.Arrive(session, a.requestId(), a.barrier(), a.timeoutMillis(), a.runsAction(), a.exchange(),
                        a.contribution());
            }
            case CANCEL -> new Command.Cancel(session, r.requestId());
            case ACTION_DONE -> new Command.ActionDone(session, r.requestId(), ((Message.ActionDone) r).failure());
            case ABORT -> new Command.Abort(session, r.requestId(), ((Message.Abort) r).barrier());
            case RESET -> new Command.Reset(session, r.requestId(), ((Message.Reset) r).barrier());
            case QUERY -> new Command.Query(session, r.requestId(), ((Message.Query) r).barrier());
            case HELLO, WELCOME, OK, RELEASED, FAILED, RUN_ACTION, STATUS, ERROR, RELEASE_PART ->
                    throw new AssertionError(r.type() + " is not a request");
        };
    }

    private void handshake(ChannelHandlerContext ctx, Message.Hello hello) {
        if (session != 0) {
            fail(ctx, 0, ErrorCode.DUPLICATE_HANDSHAKE, "this connection already completed its handshake");
            return;
        }
        if (hello.magic() != Protocol.MAGIC) {
            fail(ctx, 0, ErrorCode.BAD_MAGIC, String.format("bad magic 0x%08x; this is a Lockstep coordinator",
                    hello.magic()));
            return;
        }
        if (hello.version() != Protocol.VERSION) {
            fail(ctx, 0, ErrorCode.UNSUPPORTED_VERSION, "protocol version " + hello.version()
                    + " is not supported; this coordinator speaks version " + Protocol.VERSION);
            return;
        }
        int nameBytes = hello.clientName().getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes == 0 || nameBytes > Protocol.MAX_CLIENT_NAME_BYTES) {
            fail(ctx, 0, ErrorCode.MALFORMED_FRAME, "client name must be 1.." + Protocol.MAX_CLIENT_NAME_BYTES
                    + " bytes of UTF-8, was " + nameBytes);
            return;
        }
        session = sessionIds.incrementAndGet();
        clientName = hello.clientName();
        ctx.writeAndFlush(new Message.Welcome(Protocol.VERSION, session, maxFrameBytes, coordinatorName));
        driver.open(session, clientName, ctx.channel());
        log.debug("session {} opened for '{}' from {}", session, clientName, ctx.channel().remoteAddress());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (session != 0) {
            String why = switch (closeReason) {
                case CLIENT_CLOSED -> "its connection closed";
                case PROTOCOL_ERROR -> "its connection was closed after a protocol error";
            };
            driver.close(session, why);
            log.info("session {} of '{}' from {} ended: {}", session, clientName, ctx.channel().remoteAddress(),
                    closeReason.name().toLowerCase().replace('_', ' '));
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof ProtocolException p) {
            fail(ctx, 0, p.code(), p.getMessage());
        } else if (c instanceof TooLongFrameException) {
            fail(ctx, 0, ErrorCode.FRAME_TOO_LARGE, "frame exceeds the maximum of " + maxFrameBytes + " bytes");
        } else if (c instanceof IOException) {
            log.debug("connection {} failed: {}", ctx.channel().remoteAddress(), c.toString());
            ctx.close();
        } else {
            log.error("unexpected failure on connection {}", ctx.channel().remoteAddress(), c);
            fail(ctx, 0, ErrorCode.INTERNAL, "internal error");
        }
    }

    private void fail(ChannelHandlerContext ctx, long requestId, ErrorCode code, String message) {
        if (closeReason == CloseReason.PROTOCOL_ERROR) {
            return; // one error frame per connection; the rest of its bytes are ignored
        }
        closeReason = CloseReason.PROTOCOL_ERROR;
        log.warn("closing connection from {}{}: {} {}", ctx.channel().remoteAddress(),
                clientName == null ? "" : " ('" + clientName + "')", code, message);
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(new Message.Error(requestId, code, message)).addListener(ChannelFutureListener.CLOSE);
    }
}
