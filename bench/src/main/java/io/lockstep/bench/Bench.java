package io.lockstep.bench;

import io.lockstep.cli.Commands;
import io.lockstep.launch.LocalGroup;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code java -jar lockstep-bench.jar --parties N --rounds R --processes P [--barriers B] [--coordinator HOST:PORT]}:
 * N parties, each with its own connection, spread over P client JVMs, pass R rounds of B independent barriers.
 * Without {@code --coordinator} it runs the coordinator jar as a separate process on a free port. It prints a
 * progress line while it runs and ends with one line a script can parse:
 * {@code lockstep-bench parties=N procs=P barriers=B rounds=R wall_s=... rounds_per_s=... p50_us=... p99_us=... max_us=...
 * client_cpu_us=... coordinator_cpu_us=...} (the last two: CPU time per round, all client processes together, and the
 * coordinator started by the bench).
 */
@Command(name = "lockstep-bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Measures Lockstep's rounds per second and round latency.")
public final class Bench implements Callable<Integer> {

    private static final Pattern LISTENING = Pattern.compile("listening on \\S+:(\\d+)");
    /** Awaits the default warm-up gives the JIT before timing: at 10,000 parties it compiled for 15 rounds more. */
    private static final int WARMUP_AWAITS = 400_000;
    /** The last line of a class histogram: {@code Total INSTANCES BYTES}. */
    private static final Pattern HEAP_LIVE = Pattern.compile("(?m)^Total\\s+\\d+\\s+(\\d+)\\s*$");

    @Option(names = "--parties", required = true, paramLabel = "N", description = "Parties, one connection each.")
    int parties;

    @Option(names = "--rounds", required = true, paramLabel = "R", description = "Timed rounds.")
    int rounds;

    @Option(names = "--processes", defaultValue = "4", paramLabel = "P",
            description = "Client JVMs the parties are spread over (default: ${DEFAULT-VALUE}).")
    int processes;

    @Option(names = "--barriers", defaultValue = "1", paramLabel = "B",
            description = "Independent barriers the parties form (default: ${DEFAULT-VALUE}).")
    int barriers;

    @Option(names = "--parties-per-connection", defaultValue = "1", paramLabel = "K",
            description = "Parties sharing one connection (default: ${DEFAULT-VALUE}, every party its own). With K > 1 "
                    + "and as many barriers as parties/K or more, each connection's parties are in different barriers.")
    int partiesPerConnection;

    @Option(names = "--warmup", paramLabel = "W",
            description = "Untimed rounds first, so the JIT has compiled the hot paths: the JIT counts calls, so "
                    + "by default enough rounds for 400,000 awaits, and at least R/2 and 5, at most 100,000.")
    Integer warmup;

    @Option(names = "--coordinator", paramLabel = "HOST:PORT[,...]",
            description = "Use this coordinator (or the nodes of this group, separated by commas) instead of starting "
                    + "one.")
    String coordinator;

    @Option(names = "--group", paramLabel = "N", defaultValue = "0",
            description = "Start a replicated group of N coordinator processes on loopback (3 or 5) instead of a "
                    + "single coordinator (default: single).")
    int group;

    @Option(names = "--raft-log", paramLabel = "disk|memory", defaultValue = "disk",
            description = "With --group: the nodes' Raft log (default: ${DEFAULT-VALUE}, the coordinator's default).")
    String raftLog;

    @Option(names = "--peer-tls",
            description = "With --group: mutual TLS between the nodes (certificates made by bin/peer-certs).")
    boolean peerTls;

    @Option(names = "--coordinator-jar", paramLabel = "JAR",
            description = "The coordinator jar to start (default: coordinator/target/lockstep-coordinator.jar "
                    + "next to this jar's module).")
    Path coordinatorJar;

    @Option(names = "--worker-opts", paramLabel = "OPTS", defaultValue = "-Xss256k -XX:+UseParallelGC",
            description = "JVM options of the client worker processes (default: ${DEFAULT-VALUE}: a worker holds "
                    + "thousands of clients, a process of the real world one, and G1's concurrent refinement of "
                    + "their cards took a tenth of a worker's CPU at 10,000 parties).")
    String workerOpts;

    @Option(names = "--coordinator-io-threads", paramLabel = "N", defaultValue = "1",
            description = "I/O threads of the started coordinator (default: ${DEFAULT-VALUE}).")
    int coordinatorIoThreads;

    @Option(names = "--coordinator-opts", paramLabel = "OPTS", defaultValue = "-Xmx2g -XX:+UseParallelGC",
            description = "JVM options of the started coordinator (default: ${DEFAULT-VALUE}, its collector as the "
                    + "Dockerfile and README run it).")
    String coordinatorOpts;

    private final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    public static void main(String[] args) {
        System.exit(Commands.commandLine(new Bench()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (parties < 1 || rounds < 1 || processes < 1 || barriers < 1 || barriers > parties) {
            System.err.println("lockstep-bench: need parties >= 1, rounds >= 1, processes >= 1, 1 <= barriers <= parties");
            return 2;
        }
        if (partiesPerConnection < 1 || parties % partiesPerConnection != 0) {
            System.err.println("lockstep-bench: --parties must be a multiple of --parties-per-connection");
            return 2;
        }
        processes = Math.min(processes, parties / partiesPerConnection);
        int warm = warmup != null ? warmup
                : Math.max(5, Math.min(100_000, Math.max(rounds / 2, (WARMUP_AWAITS + parties - 1) / parties)));
        Path self = Path.of(Bench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Process coord = null;
        List<Process> nodes = new ArrayList<>(); // a started coordinator, or the nodes of a started group
        LocalGroup localGroup = null;
        String address = coordinator;
        try {
            if (address == null) {
                Path jar = coordinatorJar != null ? coordinatorJar
                        : self.getParent().resolve("../../coordinator/target/lockstep-coordinator.jar").normalize();
                List<String> cmd = new ArrayList<>(List.of(java()));
                cmd.addAll(List.of(coordinatorOpts.trim().split("\\s+")));
                cmd.addAll(List.of("-jar", jar.toString()));
                List<String> options = List.of("--max-connections-per-address", "65536", "--io-threads",
                        "" + coordinatorIoThreads);
                if (group == 0) {
                    cmd.addAll(options);
                    cmd.addAll(List.of("--bind", "127.0.0.1", "--port", "0", "--no-http"));
                    Path log = Files.createTempFile("lockstep-bench-coordinator-", ".log");
                    coord = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
                    nodes.add(coord);
                    address = "127.0.0.1:" + awaitListening(coord, log);
                } else {
                    localGroup = LocalGroups.start(cmd, options, group, raftLog, peerTls);
                    for (int i = 0; i < group; i++) {
                        nodes.add(localGroup.process(i).process());
                    }
                    address = localGroup.addresses();
                }
            }
            long heapIdle = coord != null ? heapAfterGc(coord) : -1;

            List<Process> workers = new ArrayList<>();
            List<BufferedReader> outputs = new ArrayList<>();
            AtomicLongArray connected = new AtomicLongArray(processes); // parties connected, per worker
            AtomicLong roundsDone = new AtomicLong();
            for (int w = 0; w < processes; w++) {
                // One client I/O thread per worker process, as the floor has one selector thread per process.
                List<String> cmd = new ArrayList<>(List.of(java()));
                cmd.addAll(List.of(workerOpts.trim().split("\\s+")));
                cmd.addAll(List.of("-Dlockstep.client.ioThreads=1", "-cp", self.toString(), Worker.class.getName(),
                        address, "" + parties, "" + barriers, "" + processes, "" + w, "" + rounds, "" + warm,
                        "" + partiesPerConnection));
                Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.PIPE).start();
                workers.add(p);
                outputs.add(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
                follow(p, connected, w, roundsDone);
            }
            Thread progress = progressLine(connected, roundsDone);
            for (int w = 0; w < outputs.size(); w++) {
                String line = outputs.get(w).readLine();
                if (line == null || !line.startsWith("ready")) {
                    throw new IOException("a worker failed to connect its parties: " + line);
                }
                connected.set(w, Long.parseLong(line.split(" ")[1]));
            }
            long heapConnected = coord != null ? heapAfterGc(coord) : -1;
            for (Process p : workers) {
                p.getOutputStream().write("go\n".getBytes(StandardCharsets.UTF_8));
                p.getOutputStream().flush();
            }
            for (BufferedReader r : outputs) {
                String line = r.readLine();
                if (!"timed".equals(line)) {
                    throw new IOException("a worker failed during the warm-up: " + line);
                }
            }
            Duration cpuBefore = cpu(nodes);
            Histogram merged = new Histogram(TimeUnit.MINUTES.toNanos(10), 3);
            long wall = 0;
            long clientCpu = 0;
            for (BufferedReader r : outputs) {
                String line = r.readLine();
                if (line == null || !line.startsWith("result ")) {
                    throw new IOException("a worker failed: " + line);
                }
                String[] parts = line.split(" ");
                wall = Math.max(wall, Long.parseLong(parts[1]));
                clientCpu += Long.parseLong(parts[3]);
                merged.add(Histogram.decodeFromCompressedByteBuffer(
                        ByteBuffer.wrap(Base64.getDecoder().decode(parts[2])), 0));
            }
            progress.interrupt();
            Duration cpuUsed = cpu(nodes).minus(cpuBefore);
            for (Process p : workers) {
                p.getOutputStream().write("done\n".getBytes(StandardCharsets.UTF_8));
                p.getOutputStream().flush();
            }
            for (Process p : workers) {
                p.waitFor(60, TimeUnit.SECONDS);
            }
            double wallS = wall / 1e9;
            out.println();
            if (!nodes.isEmpty() && coord == null) {
                out.printf(Locale.ROOT, "group of %d (%s log): %.2f CPU s for the timed rounds in all nodes (%.0f%% of "
                        + "one core)%n", group, raftLog, cpuUsed.toNanos() / 1e9, 100 * cpuUsed.toNanos() / 1e9 / wallS);
            }
            if (coord != null) {
                out.printf(Locale.ROOT, "coordinator: %.2f CPU s for the timed rounds (%.0f%% of one core); heap after "
                                + "full GC (live objects) %d KiB idle, %d KiB with %d parties connected "
                                + "(%d bytes per party)%n",
                        cpuUsed.toNanos() / 1e9, 100 * cpuUsed.toNanos() / 1e9 / wallS, heapIdle / 1024,
                        heapConnected / 1024, parties, (heapConnected - heapIdle) / parties);
            }
            double clientUsPerRound = clientCpu / 1e3 / rounds;
            out.printf(Locale.ROOT, "clients: %.2f CPU s for the timed rounds in %d processes (%.1f us per round)%n",
                    clientCpu / 1e9, processes, clientUsPerRound);
            out.printf(Locale.ROOT, "round latency: p50 %d us, p90 %d us, p99 %d us, max %d us (%d rounds, as seen by "
                            + "each of %d processes)%n", merged.getValueAtPercentile(50) / 1000,
                    merged.getValueAtPercentile(90) / 1000, merged.getValueAtPercentile(99) / 1000,
                    merged.getMaxValue() / 1000, rounds, processes);
            // CPU per round: what the clients and the coordinator spent on one round, whatever the machine's noise.
            out.printf(Locale.ROOT, "lockstep-bench parties=%d procs=%d barriers=%d rounds=%d%s wall_s=%.3f "
                            + "rounds_per_s=%.1f p50_us=%d p99_us=%d max_us=%d client_cpu_us=%.1f%s%n", parties,
                    processes, barriers, rounds, partiesPerConnection > 1 ? " connections=" + parties / partiesPerConnection : "",
                    wallS, rounds / wallS, merged.getValueAtPercentile(50) / 1000,
                    merged.getValueAtPercentile(99) / 1000, merged.getMaxValue() / 1000, clientUsPerRound,
                    nodes.isEmpty() ? "" : String.format(Locale.ROOT, " coordinator_cpu_us=%.1f",
                            cpuUsed.toNanos() / 1e3 / rounds) + (group > 0 ? " group=" + group + " raft_log=" + raftLog + " peer_tls=" + peerTls
                            : ""));
            return 0;
        } finally {
            if (localGroup != null) {
                localGroup.close();
            }
            if (coord != null) {
                coord.destroy();
                coord.waitFor(10, TimeUnit.SECONDS);
                coord.destroyForcibly();
            }
        }
    }

    private static long sum(AtomicLongArray values) {
        long sum = 0;
        for (int i = 0; i < values.length(); i++) {
            sum += values.get(i);
        }
        return sum;
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private static int awaitListening(Process coord, Path log) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            for (String line : Files.readAllLines(log)) {
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            }
            if (!coord.isAlive()) {
                break;
            }
            Thread.sleep(20);
        }
        throw new IOException("the coordinator did not start: " + Files.readString(log));
    }

    private static Duration cpu(List<Process> ps) {
        Duration sum = Duration.ZERO;
        for (Process p : ps) {
            sum = sum.plus(p.toHandle().info().totalCpuDuration().orElse(Duration.ZERO));
        }
        return sum;
    }

    /**
     * The coordinator's live heap: the bytes of every object still reachable, from jcmd's class histogram, which
     * runs a full GC first (whatever the collector).
     */
    private static long heapAfterGc(Process coord) throws Exception {
        Matcher m = HEAP_LIVE.matcher(jcmd(coord, "GC.class_histogram"));
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static String jcmd(Process coord, String command) throws Exception {
        Path jcmd = Path.of(java()).resolveSibling("jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), "" + coord.pid(), command).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return text;
    }

    /** Reads a worker's progress lines (stderr) into the counters; other lines pass through. */
    private static void follow(Process p, AtomicLongArray connected, int worker, AtomicLong roundsDone) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.startsWith("progress rounds ")) {
                        roundsDone.accumulateAndGet(Long.parseLong(line.substring(16)), Math::max);
                    } else if (line.startsWith("progress parties ")) {
                        connected.set(worker, Long.parseLong(line.substring(17)));
                    } else if (!line.startsWith("progress ")) {
                        System.err.println("worker: " + line);
                    }
                }
            } catch (IOException ignored) {
                // the worker ended
            }
        }, "bench-follow");
        t.setDaemon(true);
        t.start();
    }

    private Thread progressLine(AtomicLongArray connected, AtomicLong roundsDone) {
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    Thread.sleep(1000);
                    System.err.printf("\r  parties connected %d/%d, rounds done %d/%d   ", sum(connected), parties,
                            roundsDone.get(), rounds);
                }
            } catch (InterruptedException e) {
                System.err.println();
            }
        }, "bench-progress");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
