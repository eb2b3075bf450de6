package io.lockstep.coordinator.server;

import io.lockstep.protocol.FrameDecoder;
import io.lockstep.protocol.FrameEncoder;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;

/**
 * Builds each accepted connection's pipeline: with TLS, a plaintext detector and the TLS handler; then frame
 * decoder, frame encoder, connection handler.
 */
final class CoordinatorInitializer extends ChannelInitializer<SocketChannel> {

    private final CoreDriver driver;
    private final ServerConfig config;
    private final SslContext tls;
    private final ConnectionLimiter limiter;
    private final RateLimitedLog warnings = new RateLimitedLog(LoggerFactory.getLogger(ConnectionHandler.class));

    CoordinatorInitializer(CoreDriver driver, ServerConfig config) throws SSLException {
        this.driver = driver;
        this.config = config;
        this.limiter = new ConnectionLimiter(config.connections());
        driver.countConnectionsWith(limiter::open);
        this.tls = config.tls() == null ? null : sslContext(config.tls());
    }

    static SslContext sslContext(ServerConfig.TlsFiles files) throws SSLException {
        SslContextBuilder b = SslContextBuilder.forServer(files.certificate().toFile(), files.privateKey().toFile());
        if (files.clientCa() != null) {
            b.trustManager(files.clientCa().toFile()).clientAuth(ClientAuth.REQUIRE);
        }
        return b.build();
    }

    int openConnections() {
        return limiter.open();
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        if (tls != null) {
            ch.pipeline()
                    .addLast("tlsRequired", new TlsRequiredDetector(warnings))
                    .addLast("tls", tls.newHandler(ch.alloc()));
        }
        ch.pipeline()
                .addLast("frameDecoder", new FrameDecoder(config.maxFrameBytes()))
                .addLast("frameEncoder", FrameEncoder.INSTANCE)
                .addLast("connection", new ConnectionHandler(driver, config, limiter, warnings));
    }
}
