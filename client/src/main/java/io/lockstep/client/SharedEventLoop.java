package io.lockstep.client;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.util.concurrent.TimeUnit;

/**
 * The event loop all {@link LockstepClient}s of a JVM share, so a process with thousands of clients has a few
 * I/O threads, not thousands. Reference-counted: the threads start with the first client and stop when the
 * last one closes, so a closed client leaves no threads behind.
 */
final class SharedEventLoop {

    /** I/O threads shared by the JVM's clients: {@code -Dlockstep.client.ioThreads=N}, else up to 4 (one a core). */
    private static final int THREADS = Integer.getInteger("lockstep.client.ioThreads",
            Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
    private static final boolean EPOLL = Epoll.isAvailable();

    private static EventLoopGroup group;
    private static int users;

    private SharedEventLoop() {
    }

    static synchronized EventLoopGroup acquire() {
        if (users++ == 0) {
            DefaultThreadFactory threads = new DefaultThreadFactory("lockstep-client", true);
            group = new MultiThreadIoEventLoopGroup(THREADS, threads,
                    EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        }
        return group;
    }

    static synchronized void release() {
        if (--users == 0) {
            EventLoopGroup g = group;
            group = null;
            g.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    static Class<? extends SocketChannel> channelType() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }
}
