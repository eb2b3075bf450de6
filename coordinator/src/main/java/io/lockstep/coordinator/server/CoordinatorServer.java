package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BarrierView;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * The coordinator's network server: binds the port, wires the pipeline to the {@link CoreDriver}, and stops
 * cleanly. Only bootstraps; the protocol lives in {@link ConnectionHandler}, the barriers in the core.
 *
 * <p>{@link #start} and {@link #stop} may be called from any thread, once each.
 */
public final class CoordinatorServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CoordinatorServer.class);

    private final ServerConfig config;
    private final CommandLog commands;
    private final LongSupplier clockMillis;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private EventLoopGroup group;
    private Channel serverChannel;
    private Channel httpChannel;
    private CoreDriver driver;
    private CoordinatorInitializer initializer;

    /** A single coordinator: every input applied at once, on a monotonic clock. */
    public CoordinatorServer(ServerConfig config) {
        this(config, new CommandLog.Local(), monotonicMillis());
    }

    /** A coordinator whose inputs go through {@code commands}, on a monotonic clock. */
    public CoordinatorServer(ServerConfig config, CommandLog commands) {
        this(config, commands, monotonicMillis());
    }

    /**
     * The same, on the clock {@code clockMillis}, which must be monotonic (tests pass their own): every timing
     * decision reads it, a group's leader continues the group's time from it.
     */
    public CoordinatorServer(ServerConfig config, CommandLog commands, LongSupplier clockMillis) {
        this.config = config;
        this.commands = commands;
        this.clockMillis = clockMillis;
    }

    private static LongSupplier monotonicMillis() {
        long origin = System.nanoTime();
        return () -> (System.nanoTime() - origin) / 1_000_000;
    }

    /** Binds and starts serving. Returns the bound address (the real port when the config asks for 0). */
    public InetSocketAddress start() throws InterruptedException, SSLException {
        Transport transport = Transport.best();
        group = transport.newGroup(config.ioThreads(), "lockstep-io");
        String name = "lockstep-coordinator@" + ProcessHandle.current().pid();
        driver = new CoreDriver(group.next(), clockMillis, config.limits(), config.sessions(), config.connections(),
                name, config.maxFrameBytes(), commands);
        try {
            initializer = new CoordinatorInitializer(driver, config);
        } catch (SSLException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                // Connections wait in the backlog until the log has started (below): nothing reaches the driver first.
                .option(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(initializer);
        try {
            serverChannel = b.bind(config.bindHost(), config.port()).sync().channel();
        } catch (InterruptedException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        } catch (Exception e) { // sync() rethrows the bind's own IOException unchecked
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalStateException("cannot listen on " + config.bindHost() + ":" + config.port() + ": "
                    + e.getMessage(), e);
        }
        InetSocketAddress bound = (InetSocketAddress) serverChannel.localAddress();
        if (config.httpPort() != ServerConfig.NO_HTTP) {
            ServerBootstrap http = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverChannel())
                    .childHandler(new io.netty.channel.ChannelInitializer<io.netty.channel.socket.SocketChannel>() {
                        @Override
                        protected void initChannel(io.netty.channel.socket.SocketChannel ch) {
                            ch.pipeline()
                                    .addLast(new io.netty.handler.codec.http.HttpServerCodec())
                                    .addLast(new io.netty.handler.codec.http.HttpObjectAggregator(16 * 1024))
                                    .addLast(new HttpHandler(driver, driver.metrics()));
                        }
                    });
            try {
                httpChannel = http.bind(config.bindHost(), config.httpPort()).sync().channel();
            } catch (InterruptedException e) {
                serverChannel.close();
                group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                throw e;
            } catch (Exception e) {
                serverChannel.close();
                group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                throw new IllegalStateException("cannot serve HTTP on " + config.bindHost() + ":" + config.httpPort()
                        + " (--http-port; --no-http turns it off): " + e.getMessage(), e);
            }
            log.info("http endpoints on {}:{} (/health, /metrics, /barriers)", config.bindHost(), httpAddress().getPort());
        }
        try {
            commands.start(driver, bound.getPort());
        } catch (java.io.IOException | RuntimeException e) {
            serverChannel.close();
            if (httpChannel != null) {
                httpChannel.close();
            }
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalStateException("cannot join the group: " + e.getMessage(), e);
        }
        serverChannel.config().setAutoRead(true);
        log.info("listening on {}:{} ({} transport{}{})", config.bindHost(), bound.getPort(),
                transport.name().toLowerCase(), config.tls() != null ? (config.tls().clientCa() != null
                        ? ", mutual TLS" : ", TLS") : ", plaintext",
                config.authSecret() != null ? ", shared-secret authentication" : "");
        return bound;
    }

    /** The bound address. */
    public InetSocketAddress address() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** The bound address of the HTTP endpoints, or null when they are off. */
    public InetSocketAddress httpAddress() {
        return httpChannel == null ? null : (InetSocketAddress) httpChannel.localAddress();
    }

    /** What the coordinator counts (also served at /metrics); null before {@link #start()}. */
    public Metrics metrics() {
        return driver == null ? null : driver.metrics();
    }

    /** Sessions held now: connected, or cut and within their lease; 0 before {@link #start()}. */
    public int sessions() {
        return driver == null ? 0 : driver.sessionCount();
    }

    /** Connections open now. */
    public int openConnections() {
        return initializer.openConnections();
    }

    /** A snapshot of every barrier. */
    public List<BarrierView> barriers() throws InterruptedException, ExecutionException {
        return driver.views().get();
    }

    /**
     * Stops accepting, breaks every waiter with {@code why}, closes every connection and releases the threads.
     * Idempotent; returns when done or after a few seconds, whichever comes first.
     */
    public void stop(String why) {
        if (!stopped.compareAndSet(false, true) || group == null) {
            return;
        }
        log.info("stopping: {}", why);
        try {
            serverChannel.close().await(2, TimeUnit.SECONDS);
            driver.shutdown(why).get(3, TimeUnit.SECONDS);
            if (httpChannel != null) {
                httpChannel.close().await(2, TimeUnit.SECONDS);
            }
            commands.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("shutdown did not complete cleanly: {}", e.toString());
        } finally {
            // A short quiet period lets the final frames reach the wire before the loops stop.
            group.shutdownGracefully(100, 3000, TimeUnit.MILLISECONDS).awaitUninterruptibly(4, TimeUnit.SECONDS);
        }
        log.info("stopped");
    }

    @Override
    public void close() {
        stop("coordinator closed");
    }
}
