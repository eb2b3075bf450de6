package io.lockstep.coordinator.server;

import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.FrameEncoder;
import io.lockstep.protocol.Message;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;

import java.util.List;

/**
 * On a TLS port, looks at a connection's first bytes: a TLS handshake passes on to the {@link SslHandler}; anything
 * else (a plaintext Lockstep HELLO, say) gets a plaintext ERROR {@code TLS_REQUIRED} and a closed connection, so a
 * client without TLS fails at once with a message that says why, instead of waiting.
 */
final class TlsRequiredDetector extends ByteToMessageDecoder {

    private final RateLimitedLog warnings;

    TlsRequiredDetector(RateLimitedLog warnings) {
        this.warnings = warnings;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 5) {
            return;
        }
        if (SslHandler.isEncrypted(in, false)) {
            ctx.pipeline().remove(this);
            return;
        }
        warnings.warn("closing connection from {}: {} (it did not start a TLS handshake)",
                ctx.channel().remoteAddress(), ErrorCode.TLS_REQUIRED);
        in.skipBytes(in.readableBytes());
        ByteBuf frame = ctx.alloc().buffer();
        FrameEncoder.writeFrame(new Message.Error(0, ErrorCode.TLS_REQUIRED,
                "this coordinator accepts TLS connections only; configure the client for TLS"), frame);
        ctx.writeAndFlush(frame).addListener(ChannelFutureListener.CLOSE);
    }
}
