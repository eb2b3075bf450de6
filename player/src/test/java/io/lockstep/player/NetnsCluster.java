package io.lockstep.player;

import io.lockstep.launch.ChildProcess;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Several "hosts" on this machine: one Linux network namespace each, with its own address on a shared bridge,
 * and names resolvable through a per-namespace {@code /etc/hosts} (which {@code ip netns exec} mounts from
 * {@code /etc/netns/NAME/hosts}). Needs root and iproute2. {@link #close()} removes everything it made, and a
 * new cluster first removes what a crashed earlier run may have left.
 */
final class NetnsCluster implements AutoCloseable {

    /** Set (as {@code .ci/run} does) to turn a missing root or iproute2 into a failure instead of a skip. */
    static final String REQUIRE = "LOCKSTEP_REQUIRE_TOOLS";

    private static final String PREFIX = "lsg-";
    private static final String BRIDGE = "lsgbr0";
    private static final String SUBNET = "10.203.0.";

    private final Map<String, String> hosts = new LinkedHashMap<>();
    private final List<ChildProcess> processes = new ArrayList<>();
    private boolean forwardRule;

    /**
     * Skips the calling test where namespaces cannot be made, or where a program it also needs ({@code iptables},
     * {@code openssl}) is missing, unless {@link #REQUIRE} is set (then it fails, saying what is missing).
     */
    static void assumeAvailable(String... alsoNeeded) {
        String why = null;
        if (!"root".equals(System.getProperty("user.name"))) {
            why = "network namespaces need root (running as " + System.getProperty("user.name") + ")";
        } else if (!installed("ip")) {
            why = "network namespaces need iproute2 ('ip' not found)";
        } else {
            for (String program : alsoNeeded) {
                if (!installed(program)) {
                    why = "this test needs '" + program + "', which is not installed";
                    break;
                }
            }
        }
        if (why != null) {
            if (System.getenv(REQUIRE) != null) {
                fail(why + ", and " + REQUIRE + " is set");
            }
            Assumptions.abort(why + "; set " + REQUIRE + "=1 to make this a failure");
        }
    }

    /** Whether {@code program} is on the PATH or in an sbin directory (where root's tools live). */
    static boolean installed(String program) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin"));
        for (String dir : dirs) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    NetnsCluster(List<String> names) throws IOException, InterruptedException {
        removeLeftovers();
        run("ip", "link", "add", BRIDGE, "type", "bridge");
        run("ip", "addr", "add", SUBNET + "1/24", "dev", BRIDGE);
        run("ip", "link", "set", BRIDGE, "up");
        // Bridged traffic passes iptables' FORWARD chain when br_netfilter is loaded; let ours through.
        forwardRule = tryRun("iptables", "-I", "FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT");
        int n = 2;
        for (String name : names) {
            hosts.put(name, SUBNET + n++);
        }
        StringBuilder etcHosts = new StringBuilder("127.0.0.1 localhost\n");
        hosts.forEach((name, ip) -> etcHosts.append(ip).append(' ').append(name).append('\n'));
        int i = 0;
        for (Map.Entry<String, String> h : hosts.entrySet()) {
            String ns = namespace(h.getKey());
            String veth = "lsgv" + i++;
            run("ip", "netns", "add", ns);
            run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
            run("ip", "link", "set", veth, "master", BRIDGE, "up");
            run("ip", "-n", ns, "addr", "add", h.getValue() + "/24", "dev", "eth0");
            run("ip", "-n", ns, "link", "set", "eth0", "up");
            run("ip", "-n", ns, "link", "set", "lo", "up");
            Path dir = Path.of("/etc/netns", ns);
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("hosts"), etcHosts, StandardCharsets.UTF_8);
        }
    }

    static String namespace(String host) {
        String ns = PREFIX + host;
        if (ns.length() > 15) {
            throw new IllegalArgumentException("host name too long for a namespace: " + host);
        }
        return ns;
    }

    String address(String host) {
        return hosts.get(host);
    }

    /** The address of this machine on the cluster's bridge: where a proxy in the test JVM listens. */
    static String bridgeAddress() {
        return SUBNET + "1";
    }

    /** Runs {@code command} on {@code host} and fails unless it exits 0. */
    void must(String host, String... command) throws IOException, InterruptedException {
        int code = exec(host, List.of(command), 20);
        if (code != 0) {
            throw new IOException(String.join(" ", command) + " on " + host + " exited " + code);
        }
    }

    /** Starts {@code command} on {@code host} with {@code env} added to this JVM's environment. */
    ChildProcess start(String host, List<String> command, Map<String, String> env, Path log) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace(host)));
        full.addAll(command);
        ChildProcess p = new ChildProcess(host, full, log, env);
        processes.add(p);
        return p;
    }

    /** Runs a command on {@code host} and returns its exit code (for health checks). */
    int exec(String host, List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace(host)));
        full.addAll(command);
        Process p = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    @Override
    public void close() {
        processes.forEach(p -> p.process().destroyForcibly());
        for (ChildProcess p : processes) {
            try {
                p.process().waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (forwardRule) {
            tryRun("iptables", "-D", "FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT");
        }
        removeLeftovers();
    }

    private static void removeLeftovers() {
        // Our veths first: a namespace's deletion removes its end of them only lazily.
        try {
            Process links = new ProcessBuilder("ip", "-o", "link", "show").redirectErrorStream(true).start();
            String out = new String(links.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            links.waitFor(10, TimeUnit.SECONDS);
            for (String line : out.split("\n")) {
                String[] parts = line.split(":\\s+");
                if (parts.length > 1) {
                    String name = parts[1].split("@")[0].trim();
                    if (name.startsWith("lsgv")) {
                        tryRun("ip", "link", "del", name);
                    }
                }
            }
        } catch (IOException e) {
            // no iproute2
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Process list = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
            String out = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            list.waitFor(10, TimeUnit.SECONDS);
            for (String line : out.split("\n")) {
                String ns = line.split(" ")[0].trim();
                if (ns.startsWith(PREFIX)) {
                    tryRun("ip", "netns", "del", ns);
                    deleteRecursively(Path.of("/etc/netns", ns));
                }
            }
        } catch (IOException e) {
            // nothing to clean, or no iproute2
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        tryRun("ip", "link", "del", BRIDGE);
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out.trim());
        }
    }

    private static boolean tryRun(String... command) {
        try {
            run(command);
            return true;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
