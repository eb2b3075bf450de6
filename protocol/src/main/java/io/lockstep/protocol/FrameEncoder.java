package io.lockstep.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/** Writes a {@link Message} as one frame: a u32 length prefix, then the type byte and body. Stateless. */
@ChannelHandler.Sharable
public final class FrameEncoder extends MessageToByteEncoder<Message> {

    public static final FrameEncoder INSTANCE = new FrameEncoder();

    private FrameEncoder() {
        super(Message.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Message msg, ByteBuf out) {
        writeFrame(msg, out);
    }

    /** Appends the whole frame of {@code msg} to {@code out}; also used by tests to build golden bytes. */
    public static void writeFrame(Message msg, ByteBuf out) {
        int start = out.writerIndex();
        out.writeInt(0);
        MessageCodec.encode(msg, out);
        out.setInt(start, out.writerIndex() - start - Protocol.LENGTH_PREFIX_BYTES);
    }
}
