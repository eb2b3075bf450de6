package io.lockstep.coordinator.server;

import io.lockstep.protocol.FrameDecoder;
import io.lockstep.protocol.FrameEncoder;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;


/** Builds each accepted connection's pipeline: frame decoder, frame encoder, connection handler. */
final class CoordinatorInitializer extends ChannelInitializer<SocketChannel> {

    private final CoreDriver driver;
    private final ServerConfig config;

    CoordinatorInitializer(CoreDriver driver, ServerConfig config) {
        this.driver = driver;
        this.config = config;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ch.pipeline()
                .addLast("frameDecoder", new FrameDecoder(config.maxFrameBytes()))
                .addLast("frameEncoder", FrameEncoder.INSTANCE)
                .addLast("connection", new ConnectionHandler(driver, config.sessions(), config.maxFrameBytes(),
                        config.handshakeMillis()));
    }
}
