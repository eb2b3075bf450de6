package io.lockstep.coordinator;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.coordinator.group.Group;
import io.lockstep.coordinator.group.GroupConfig;
import io.lockstep.coordinator.group.PeerTls;
import io.lockstep.coordinator.server.CoordinatorServer;
import io.lockstep.coordinator.server.ServerConfig;
import io.lockstep.coordinator.server.SessionPolicy;
import io.lockstep.protocol.Durations;
import io.lockstep.protocol.Protocol;
import io.netty.util.ResourceLeakDetector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar lockstep-coordinator.jar}: runs the coordinator as a service until SIGTERM or Ctrl-C. Every
 * option may also be set through the environment ({@code LOCKSTEP_PORT}, ...) or a config file; see
 * {@link EnvironmentDefaults} for the precedence.
 */
@Command(name = "lockstep-coordinator", mixinStandardHelpOptions = true, version = "Lockstep coordinator 0.1.0",
        description = {"Holds named barriers for Lockstep clients on other machines.", "",
                "Every option can also be set with the environment variable LOCKSTEP_<OPTION> (for example "
                        + "LOCKSTEP_PORT, LOCKSTEP_MAX_FRAME_BYTES) or in the --config file (max-frame-bytes=...). "
                        + "Precedence: command line, environment, config file, default."},
        sortOptions = false, exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:stopped cleanly (SIGTERM, Ctrl-C)", "1:could not start (port in use, unreadable file)",
                "2:invalid option or value"})
public final class Main implements Callable<Integer> {

    private static Logger log() {
        return LoggerFactory.getLogger(Main.class);
    }

    @Option(names = "--config", paramLabel = "FILE",
            description = "A properties file of options (port=7777, ...); also LOCKSTEP_CONFIG.")
    Path config;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "" + Protocol.DEFAULT_PORT,
            description = "TCP port of the barrier protocol; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--bind", paramLabel = "HOST", defaultValue = ServerConfig.DEFAULT_BIND,
            description = "Address to listen on (default: ${DEFAULT-VALUE}, every interface).")
    String bind;

    @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "" + Protocol.DEFAULT_HTTP_PORT,
            description = "Port of the HTTP endpoints /health, /metrics, /barriers; 0 picks a free one "
                    + "(default: ${DEFAULT-VALUE}).")
    int httpPort;

    @Option(names = "--no-http", description = "Turn the HTTP endpoints off.")
    boolean noHttp;

    @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "text",
            description = "text (default) or json (one JSON object a line, for containers).")
    String logFormat;

    @Option(names = "--session-lease", paramLabel = "DURATION", defaultValue = "10s",
            description = "How long a session outlives a silent connection (a network cut) when its client asks for "
                    + "no lease, like 10s, 500ms, 2m or PT10S; a bare number is milliseconds (default: "
                    + "${DEFAULT-VALUE}).")
    Duration sessionLease;

    @Option(names = "--min-lease", paramLabel = "DURATION", defaultValue = "500ms",
            description = "Shortest lease granted (default: ${DEFAULT-VALUE}).")
    Duration minLease;

    @Option(names = "--max-lease", paramLabel = "DURATION", defaultValue = "5m",
            description = "Longest lease granted (default: ${DEFAULT-VALUE}).")
    Duration maxLease;

    @Option(names = "--reconnect-grace", paramLabel = "DURATION", defaultValue = "1s",
            description = "How long a session has to come back when its client's side closed the connection "
                    + "(FIN or RST: a killed process, or a live client that reconnects at once) instead of the "
                    + "whole lease (default: ${DEFAULT-VALUE}).")
    Duration reconnectGrace;

    @Option(names = "--auth-secret-file", paramLabel = "FILE",
            description = "Require clients to prove they hold the shared secret in FILE (HMAC-SHA256 challenge; "
                    + "the secret never crosses the wire). The secret may instead be given in LOCKSTEP_AUTH_SECRET; "
                    + "never on the command line.")
    Path authSecretFile;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Serve TLS with this certificate chain (PEM).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key of --tls-cert (PKCS#8 PEM).")
    Path tlsKey;

    @Option(names = "--tls-client-ca", paramLabel = "PEM",
            description = "Require client certificates signed by this CA (mutual TLS).")
    Path tlsClientCa;

    @Option(names = "--max-frame-bytes", paramLabel = "BYTES", defaultValue = "" + Protocol.DEFAULT_MAX_FRAME_BYTES,
            description = "Largest frame accepted (default: ${DEFAULT-VALUE}).")
    int maxFrameBytes;

    @Option(names = "--max-contribution-bytes", paramLabel = "BYTES",
            defaultValue = "" + Protocol.DEFAULT_MAX_CONTRIBUTION_BYTES,
            description = "Largest contribution one party may bring to an exchange (default: ${DEFAULT-VALUE}).")
    int maxContributionBytes;

    @Option(names = "--max-barrier-bytes", paramLabel = "BYTES", defaultValue = "" + BarrierCore.DEFAULT_MAX_BARRIER_BYTES,
            description = "Most contribution bytes one barrier holds at once (default: ${DEFAULT-VALUE}).")
    long maxBarrierBytes;

    @Option(names = "--max-barriers", paramLabel = "N", defaultValue = "" + BarrierCore.DEFAULT_MAX_BARRIERS,
            description = "Most barriers held at once (default: ${DEFAULT-VALUE}).")
    int maxBarriers;

    @Option(names = "--max-parties", paramLabel = "N", defaultValue = "" + BarrierCore.DEFAULT_MAX_PARTIES,
            description = "Most parties one barrier may have (default: ${DEFAULT-VALUE}).")
    int maxParties;

    @Option(names = "--max-name-bytes", paramLabel = "BYTES", defaultValue = "" + Protocol.MAX_BARRIER_NAME_BYTES,
            description = "Longest barrier name, in bytes of UTF-8 (default and most: ${DEFAULT-VALUE}).")
    int maxNameBytes;

    @Option(names = "--max-awaits-per-session", paramLabel = "N",
            defaultValue = "" + BarrierCore.DEFAULT_MAX_AWAITS_PER_SESSION,
            description = "Most awaits one client session may have outstanding (default: ${DEFAULT-VALUE}).")
    int maxAwaitsPerSession;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "65536",
            description = "Most connections at once (default: ${DEFAULT-VALUE}).")
    int maxConnections;

    @Option(names = "--max-connections-per-address", paramLabel = "N", defaultValue = "16384",
            description = "Most connections at once from one remote address (default: ${DEFAULT-VALUE}).")
    int maxConnectionsPerAddress;

    @Option(names = "--handshake-timeout", paramLabel = "DURATION", defaultValue = "10s",
            description = "Time a new connection has to complete its handshake (default: ${DEFAULT-VALUE}).")
    Duration handshakeTimeout;

    @Option(names = "--node-id", paramLabel = "ID",
            description = "This node's id in its group, one of --peers (a group only).")
    String nodeId;

    @Option(names = "--peers", paramLabel = "ID=HOST:PORT,...",
            description = "Run as one node of a replicated group: every member's id and the host:port of its Raft "
                    + "traffic, as n1=host1:7790,n2=host2:7790,n3=host3:7790 (3 or 5 nodes; the same on every node). "
                    + "Clients are told to reach the leader at its host here and its --port. Without it: a single "
                    + "coordinator.")
    String peers;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Where this node of a group keeps its Raft log and snapshots.")
    Path dataDir;

    @Option(names = "--join",
            description = "Start this node outside the group, with no log, and wait for the group's leader to add it "
                    + "(`bin/lockstep group add ID=HOST:PORT`); --peers names at least this node's own Raft address. "
                    + "Once added, the members are the group's, whatever --peers says.")
    boolean join;

    @Option(names = "--restore", paramLabel = "FILE",
            description = "Start a new group from a snapshot `bin/lockstep snapshot save FILE` wrote: every node of "
                    + "the group from the same file, each on an empty --data-dir. It keeps the barriers, their "
                    + "declarations and the sessions; a session whose client does not come back within its lease ends.")
    Path restore;

    @Option(names = "--raft-log", paramLabel = "disk|memory", defaultValue = "disk",
            description = "disk (default): an arrival is acknowledged once a majority has it on disk; memory: once a "
                    + "majority holds it in memory (faster; losing a majority at once loses it).")
    String raftLog;

    @Option(names = "--snapshot-every", paramLabel = "ENTRIES", defaultValue = "" + GroupConfig.DEFAULT_SNAPSHOT_EVERY,
            description = "A node of a group snapshots its state every ENTRIES log entries (default: "
                    + "${DEFAULT-VALUE}); the log before the snapshot is then purged.")
    long snapshotEvery;

    @Option(names = "--peer-tls-cert", paramLabel = "PEM",
            description = "This node's certificate chain for the group's Raft traffic (mutual TLS between the nodes). "
                    + "It must name the host --peers gives for this node (DNS or IP subject alternative name).")
    Path peerTlsCert;

    @Option(names = "--peer-tls-key", paramLabel = "PEM", description = "The private key of --peer-tls-cert (PKCS#8 PEM).")
    Path peerTlsKey;

    @Option(names = "--peer-tls-ca", paramLabel = "PEM",
            description = "The group's CA: Raft traffic is accepted from, and sent to, only nodes whose certificate it "
                    + "signed.")
    Path peerTlsCa;

    @Option(names = "--peer-insecure",
            description = "Allow the group's Raft traffic in plaintext, unauthenticated, between nodes not all on "
                    + "loopback (anyone who reaches a peer port can read and forge it). Without it, such a group "
                    + "needs the --peer-tls-* options.")
    boolean peerInsecure;

    @Option(names = "--io-threads", paramLabel = "N", defaultValue = "" + ServerConfig.DEFAULT_IO_THREADS,
            description = "Event-loop threads (default: ${DEFAULT-VALUE}).")
    int ioThreads;

    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Map<String, String> env;

    Main(Map<String, String> env) {
        this.env = env;
    }

    public static void main(String[] args) {
        // Netty's leak detector samples one buffer in 128 and records a stack trace for it: on the coordinator's
        // per-message path that cost 3-13 % of 4-party throughput (bench/RESULTS.md). The coordinator's buffers
        // live only within the codec, for one frame; -Dio.netty.leakDetection.level=simple turns it back on.
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        System.exit(run(args, System.getenv()));
    }

    /** Parses and runs; returns the exit code. */
    static int run(String[] args, Map<String, String> env) {
        EnvironmentDefaults defaults;
        try {
            defaults = new EnvironmentDefaults(env, configFile(args, env));
        } catch (IOException e) {
            System.err.println("lockstep-coordinator: cannot read the config file: " + e.getMessage());
            return 2;
        }
        return commandLine(new Main(env), defaults).execute(args);
    }

    /** The command line of {@code main}, its values not given taken from {@code defaults}. */
    static CommandLine commandLine(Main main, EnvironmentDefaults defaults) {
        CommandLine cmd = new CommandLine(main);
        cmd.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("lockstep-coordinator: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Try 'lockstep-coordinator --help'.");
            return 2;
        });
        // One syntax for every duration, wherever the value comes from (command line, environment, config file).
        cmd.registerConverter(Duration.class, text -> {
            try {
                return Durations.parse(text);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        });
        cmd.setDefaultValueProvider(defaults);
        return cmd;
    }

    /** The config file named by --config (or --config=FILE), else by LOCKSTEP_CONFIG. */
    private static Path configFile(String[] args, Map<String, String> env) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                return Path.of(args[i + 1]);
            }
            if (args[i].startsWith("--config=")) {
                return Path.of(args[i].substring("--config=".length()));
            }
        }
        String fromEnv = env.get("LOCKSTEP_CONFIG");
        return fromEnv == null || fromEnv.isBlank() ? null : Path.of(fromEnv);
    }

    /** The configuration the options describe; IllegalArgumentException names what is wrong. */
    ServerConfig serverConfig() throws IOException {
        byte[] secret = null;
        if (authSecretFile != null) {
            secret = Files.readString(authSecretFile, StandardCharsets.UTF_8).strip().getBytes(StandardCharsets.UTF_8);
        } else if (env.get("LOCKSTEP_AUTH_SECRET") != null && !env.get("LOCKSTEP_AUTH_SECRET").isBlank()) {
            secret = env.get("LOCKSTEP_AUTH_SECRET").strip().getBytes(StandardCharsets.UTF_8);
        }
        // One construction with every value, so that the checks see the whole configuration at once.
        ServerConfig c = new ServerConfig(bind, port, maxFrameBytes, ioThreads,
                new BarrierCore.Limits(maxContributionBytes, maxBarrierBytes, maxBarriers, maxNameBytes,
                        maxAwaitsPerSession, maxParties),
                new SessionPolicy(millis(sessionLease, "--session-lease"), millis(minLease, "--min-lease"),
                        millis(maxLease, "--max-lease"), millis(reconnectGrace, "--reconnect-grace")),
                new ServerConfig.ConnectionLimits(maxConnections, maxConnectionsPerAddress,
                        ServerConfig.ConnectionLimits.DEFAULT.maxUnacknowledged(),
                        ServerConfig.ConnectionLimits.DEFAULT.maxPendingWriteBytes()),
                millis(handshakeTimeout, "--handshake-timeout"), secret, null, noHttp ? ServerConfig.NO_HTTP : httpPort);
        if (tlsCert != null || tlsKey != null || tlsClientCa != null) {
            if (tlsCert == null || tlsKey == null) {
                throw new IllegalArgumentException("TLS needs both --tls-cert and --tls-key");
            }
            for (Path p : new Path[]{tlsCert, tlsKey, tlsClientCa}) {
                if (p != null && !Files.isReadable(p)) {
                    throw new IllegalArgumentException("cannot read " + p);
                }
            }
            c = c.withTls(new ServerConfig.TlsFiles(tlsCert, tlsKey, tlsClientCa));
        }
        return c;
    }

    /** The group this node is one of, or null for a single coordinator; IllegalArgumentException says what is wrong. */
    GroupConfig groupConfig() {
        if (peers == null) {
            if (nodeId != null || dataDir != null || peerTlsCert != null || peerTlsKey != null || peerTlsCa != null
                    || peerInsecure) {
                throw new IllegalArgumentException("--node-id, --data-dir, --peer-tls-* and --peer-insecure are for a "
                        + "node of a group: give --peers too");
            }
            return null;
        }
        if (nodeId == null) {
            throw new IllegalArgumentException("a node of a group needs --node-id, one of the ids in --peers");
        }
        if (!raftLog.equals("disk") && !raftLog.equals("memory")) {
            throw new IllegalArgumentException("--raft-log must be disk or memory, was '" + raftLog + "'");
        }
        PeerTls tls = peerTlsCert == null && peerTlsKey == null && peerTlsCa == null ? null
                : new PeerTls(peerTlsCert, peerTlsKey, peerTlsCa);
        return new GroupConfig(nodeId, GroupConfig.parsePeers(peers), dataDir, raftLog.equals("memory"), snapshotEvery,
                tls, peerInsecure);
    }

    private static int millis(Duration d, String option) {
        if (d.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(option + " is at most " + Integer.MAX_VALUE + " ms, was " + d);
        }
        return (int) d.toMillis();
    }

    @Override
    public Integer call() throws Exception {
        if (!logFormat.equals("text") && !logFormat.equals("json")) {
            System.err.println("lockstep-coordinator: --log-format must be text or json, was '" + logFormat + "'");
            return 2;
        }
        LogFormat.use(logFormat);
        ServerConfig config;
        try {
            config = serverConfig();
        } catch (IllegalArgumentException e) {
            System.err.println("lockstep-coordinator: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            System.err.println("lockstep-coordinator: cannot read " + e.getMessage());
            return 2;
        }
        GroupConfig group;
        try {
            group = groupConfig();
        } catch (IllegalArgumentException e) {
            System.err.println("lockstep-coordinator: " + e.getMessage());
            return 2;
        }
        if (restore != null) {
            try {
                if (group == null) {
                    throw new IllegalArgumentException("--restore starts a group from a snapshot: give --peers, "
                            + "--node-id and an empty --data-dir too");
                }
                io.lockstep.coordinator.group.Restore.prepare(restore, group, config.limits());
            } catch (IllegalArgumentException e) {
                System.err.println("lockstep-coordinator: " + e.getMessage());
                return 2;
            }
        }
        if (join && group == null) {
            System.err.println("lockstep-coordinator: --join is for a node of a group: give --peers, --node-id and "
                    + "--data-dir too");
            return 2;
        }
        CoordinatorServer server = group == null ? new CoordinatorServer(config) : Group.node(config, group, join);
        try {
            server.start();
        } catch (Exception e) {
            System.err.println("lockstep-coordinator: cannot start: " + e.getMessage());
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
        log().debug("exiting");
        return 0;
    }
}
