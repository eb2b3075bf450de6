package io.lockstep.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

/**
 * Splits the byte stream into frames ({@code u32 length}, then {@code length} bytes) and decodes each into a
 * {@link Message}. A length above the maximum fails at once ({@link io.netty.handler.codec.TooLongFrameException},
 * without buffering the frame); a body that does not parse raises {@link ProtocolException}. Both reach
 * {@code exceptionCaught} of the next handler, which answers with an ERROR frame and closes.
 */
public final class FrameDecoder extends LengthFieldBasedFrameDecoder {

    private final int maxFrameBytes;

    /** @param maxFrameBytes the largest value accepted in the length prefix */
    public FrameDecoder(int maxFrameBytes) {
        super(Protocol.LENGTH_PREFIX_BYTES + maxFrameBytes, 0, Protocol.LENGTH_PREFIX_BYTES, 0,
                Protocol.LENGTH_PREFIX_BYTES, true);
        if (maxFrameBytes < Protocol.MIN_MAX_FRAME_BYTES) {
            throw new IllegalArgumentException(
                    "maxFrameBytes " + maxFrameBytes + " is below the minimum " + Protocol.MIN_MAX_FRAME_BYTES);
        }
        this.maxFrameBytes = maxFrameBytes;
    }

    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    @Override
    protected Object decode(ChannelHandlerContext ctx, ByteBuf in) throws Exception {
        ByteBuf frame = (ByteBuf) super.decode(ctx, in);
        if (frame == null) {
            return null;
        }
        try {
            return MessageCodec.decode(frame);
        } finally {
            frame.release();
        }
    }
}
