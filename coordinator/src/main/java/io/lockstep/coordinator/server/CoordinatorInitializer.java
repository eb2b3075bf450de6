package io.lockstep.coordinator.server;

import io.lockstep.protocol.FrameDecoder;
import io.lockstep.protocol.FrameEncoder;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;

import java.util.concurrent.atomic.AtomicLong;

/** Builds each accepted connection's pipeline: frame decoder, frame encoder, connection handler. */
final class CoordinatorInitializer extends ChannelInitializer<SocketChannel> {

    private final CoreDriver driver;
    private final ServerConfig config;
    private final AtomicLong sessionIds = new AtomicLong();
    private final String coordinatorName;

    CoordinatorInitializer(CoreDriver driver, ServerConfig config, String coordinatorName) {
        this.driver = driver;
        this.config = config;
        this.coordinatorName = coordinatorName;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ch.pipeline()
                .addLast("frameDecoder", new FrameDecoder(config.maxFrameBytes()))
                .addLast("frameEncoder", FrameEncoder.INSTANCE)
                .addLast("connection", new ConnectionHandler(driver, sessionIds, config.maxFrameBytes(),
                        coordinatorName));
    }
}
