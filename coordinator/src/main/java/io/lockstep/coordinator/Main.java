package io.lockstep.coordinator;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.coordinator.server.CoordinatorServer;
import io.lockstep.coordinator.server.ServerConfig;
import io.lockstep.coordinator.server.SessionPolicy;
import io.lockstep.protocol.Protocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code java -jar lockstep-coordinator.jar}: runs the coordinator as a service until SIGTERM or Ctrl-C. */
@Command(name = "lockstep-coordinator", mixinStandardHelpOptions = true, version = "Lockstep coordinator 0.1.0",
        description = "Holds named barriers for Lockstep clients on other machines.",
        sortOptions = false)
public final class Main implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(Main.class);

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "" + Protocol.DEFAULT_PORT,
            description = "TCP port of the barrier protocol; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--bind", paramLabel = "HOST", defaultValue = ServerConfig.DEFAULT_BIND,
            description = "Address to listen on (default: ${DEFAULT-VALUE}, every interface).")
    String bind;

    @Option(names = "--max-frame-bytes", paramLabel = "BYTES", defaultValue = "" + Protocol.DEFAULT_MAX_FRAME_BYTES,
            description = "Largest frame accepted or sent (default: ${DEFAULT-VALUE}).")
    int maxFrameBytes;

    @Option(names = "--max-contribution-bytes", paramLabel = "BYTES",
            defaultValue = "" + Protocol.DEFAULT_MAX_CONTRIBUTION_BYTES,
            description = "Largest contribution one party may bring to an exchange (default: ${DEFAULT-VALUE}).")
    int maxContributionBytes;

    @Option(names = "--max-barrier-bytes", paramLabel = "BYTES", defaultValue = "" + BarrierCore.DEFAULT_MAX_BARRIER_BYTES,
            description = "Most contribution bytes one barrier holds at once (default: ${DEFAULT-VALUE}).")
    long maxBarrierBytes;

    @Option(names = "--session-lease", paramLabel = "MILLIS", defaultValue = "" + Protocol.DEFAULT_LEASE_MILLIS,
            description = "How long a session outlives a cut connection when its client asks for no lease "
                    + "(default: ${DEFAULT-VALUE} ms). Clients may ask for between --min-lease and --max-lease.")
    int sessionLease;

    @Option(names = "--min-lease", paramLabel = "MILLIS", defaultValue = "500",
            description = "Shortest lease granted (default: ${DEFAULT-VALUE} ms).")
    int minLease;

    @Option(names = "--max-lease", paramLabel = "MILLIS", defaultValue = "300000",
            description = "Longest lease granted (default: ${DEFAULT-VALUE} ms).")
    int maxLease;

    @Option(names = "--io-threads", paramLabel = "N", defaultValue = "" + ServerConfig.DEFAULT_IO_THREADS,
            description = "Event-loop threads (default: ${DEFAULT-VALUE}).")
    int ioThreads;

    private final CountDownLatch stopped = new CountDownLatch(1);

    public static void main(String[] args) {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("lockstep-coordinator: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Try 'lockstep-coordinator --help'.");
            return 2;
        });
        System.exit(cmd.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        ServerConfig config;
        try {
            config = new ServerConfig(bind, port, maxFrameBytes, ioThreads,
                    new BarrierCore.Limits(maxContributionBytes, maxBarrierBytes),
                    new SessionPolicy(sessionLease, minLease, maxLease), ServerConfig.DEFAULT_HANDSHAKE_MILLIS);
        } catch (IllegalArgumentException e) {
            System.err.println("lockstep-coordinator: " + e.getMessage());
            return 2;
        }
        CoordinatorServer server = new CoordinatorServer(config);
        try {
            server.start();
        } catch (Exception e) {
            System.err.println("lockstep-coordinator: cannot listen on " + bind + ":" + port + ": " + e.getMessage());
            return 1;
        }
        Runnable stop = () -> {
            server.stop("coordinator shutting down");
            stopped.countDown();
        };
        // SIGTERM and SIGINT are handled so that the process exits 0 after a clean stop (a JVM killed by a
        // signal otherwise exits 143 or 130). The shutdown hook covers every other way out.
        Signals.onTermination(stop);
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "lockstep-shutdown"));
        stopped.await();
        log.debug("exiting");
        return 0;
    }
}
