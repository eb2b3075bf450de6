package io.lockstep.client;

import io.lockstep.protocol.Message;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client's one connection to the coordinator: sends requests, correlates replies by request id, and fails
 * every outstanding request when the connection ends.
 *
 * <p>{@link #send} may be called from any thread; the handler methods run on the channel's event loop. The
 * outstanding map is concurrent because both sides touch it: a request is added by its caller before it is
 * written and removed by whoever finishes it first (its reply, a write failure, or the connection's end).
 */
final class Connection extends SimpleChannelInboundHandler<Message> {

    private static final Logger log = LoggerFactory.getLogger(Connection.class);

    /** Someone waiting for replies to one request. Called on the event loop. */
    interface Outstanding {
        /** A reply arrived; return true when it was the last one this request gets. */
        boolean onReply(Message.Reply reply);

        /** The connection ended before the last reply. */
        void onConnectionLost(String why);
    }

    private final Map<Long, Outstanding> outstanding = new ConcurrentHashMap<>();
    private final AtomicLong requestIds = new AtomicLong();
    private final CompletableFuture<Message.Welcome> welcome = new CompletableFuture<>();
    private final String coordinator;
    private volatile Channel channel;
    private volatile String lostReason;

    Connection(String coordinator) {
        this.coordinator = coordinator;
    }

    CompletableFuture<Message.Welcome> welcome() {
        return welcome;
    }

    long nextRequestId() {
        return requestIds.incrementAndGet();
    }

    /** Null while the connection is up, else why it ended. */
    String lostReason() {
        return lostReason;
    }

    /** Registers {@code who} for the replies to {@code request} and writes it. */
    void send(Message.Request request, Outstanding who) {
        String lost = lostReason;
        if (lost != null) {
            who.onConnectionLost(lost);
            return;
        }
        outstanding.put(request.requestId(), who);
        if (lostReason != null && outstanding.remove(request.requestId()) != null) {
            who.onConnectionLost(lostReason); // the connection ended between the check and the put
            return;
        }
        channel.writeAndFlush(request).addListener(f -> {
            if (!f.isSuccess() && outstanding.remove(request.requestId()) != null) {
                who.onConnectionLost("cannot write to coordinator " + coordinator + ": " + f.cause());
            }
        });
    }

    /** Writes a frame that expects no reply (CANCEL, ACTION_DONE). */
    void sendOneWay(Message.Request request) {
        Channel ch = channel;
        if (ch != null && lostReason == null) {
            ch.writeAndFlush(request, ch.voidPromise());
        }
    }

    /** Forgets a request without waiting for its reply (a local backstop gave up on it). */
    void forget(long requestId) {
        outstanding.remove(requestId);
    }

    int outstandingCount() {
        return outstanding.size();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Message msg) {
        if (msg instanceof Message.Welcome w) {
            welcome.complete(w);
            return;
        }
        if (!(msg instanceof Message.Reply reply)) {
            fatal(ctx, "coordinator sent a " + msg.type() + " frame, which only clients send");
            return;
        }
        if (reply.requestId() == 0) {
            // Connection-level: the coordinator is closing this connection and says why.
            Message.Error e = (Message.Error) reply;
            lostReason = "coordinator " + coordinator + " closed the connection: " + e.message() + " (" + e.code() + ")";
            welcome.completeExceptionally(new LockstepException(lostReason));
            return;
        }
        Outstanding who = outstanding.get(reply.requestId());
        if (who == null) {
            log.debug("reply to unknown request {} ignored: {}", reply.requestId(), reply);
            return;
        }
        if (who.onReply(reply)) {
            outstanding.remove(reply.requestId(), who);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (lostReason == null) {
            lostReason = "connection to coordinator " + coordinator + " lost";
        }
        welcome.completeExceptionally(new LockstepException(lostReason));
        failOutstanding(lostReason);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        fatal(ctx, "connection to coordinator " + coordinator + " failed: " + c.getMessage());
    }

    private void fatal(ChannelHandlerContext ctx, String why) {
        if (lostReason == null) {
            lostReason = why;
        }
        log.debug("{}", why);
        ctx.close();
    }

    /** Fails every outstanding request; each is removed first so that it is failed exactly once. */
    void failOutstanding(String why) {
        for (Long id : new ArrayList<>(outstanding.keySet())) {
            Outstanding who = outstanding.remove(id);
            if (who != null) {
                who.onConnectionLost(why);
            }
        }
    }

    /** Marks the connection as closed by its own client, so late callers get that reason. */
    void markClosed(String why) {
        if (lostReason == null) {
            lostReason = why;
        }
    }
}
