package io.lockstep.client;

import io.lockstep.protocol.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/**
 * Looks at the first bytes a connection receives: a Lockstep frame passes on to the frame decoder (and this handler
 * leaves the pipeline); an HTTP answer means the client was pointed at a web server, most likely the coordinator's
 * own HTTP port, and the connection is closed with a sentence that says so, instead of an unreadable frame length.
 * On the connection's event loop.
 */
final class HttpAnswerDetector extends ByteToMessageDecoder {

    private static final byte[] HTTP = "HTTP/".getBytes(StandardCharsets.US_ASCII);

    private final Consumer<String> refused;

    /** {@code refused} is told why the connection is being closed. */
    HttpAnswerDetector(Consumer<String> refused) {
        this.refused = refused;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < HTTP.length) {
            return; // every Lockstep frame is longer
        }
        for (int i = 0; i < HTTP.length; i++) {
            if (in.getByte(in.readerIndex() + i) != HTTP[i]) {
                ctx.pipeline().remove(this); // what was read passes on to the frame decoder
                return;
            }
        }
        in.skipBytes(in.readableBytes());
        refused.accept("it answered in HTTP: that is a web server, perhaps the coordinator's HTTP port (/health, "
                + "/metrics); its barrier protocol listens on another port, " + Protocol.DEFAULT_PORT + " by default");
        ctx.close();
    }
}
