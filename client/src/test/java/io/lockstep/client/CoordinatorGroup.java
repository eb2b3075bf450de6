package io.lockstep.client;

import io.lockstep.launch.LocalGroup;

import java.io.File;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A coordinator group of separate JVMs on loopback, started from the real jar as an operator would start it: node
 * {@code i} is {@code n<i+1>}, with fixed ports (so a restarted node comes back where it was), its own data
 * directory, and mutual TLS between the nodes (certificates of a throwaway group CA). Nodes can be killed (SIGKILL)
 * and restarted, also with other certificates. The processes are {@link LocalGroup}'s; this adds the certificates
 * and fails the test where the group does not do what it should.
 */
final class CoordinatorGroup implements AutoCloseable {

    static final File JAR = new File("../coordinator/target/lockstep-coordinator.jar");
    /** C1 only and the serial collector: four JVMs or more share two cores here, and start faster so. */
    private static final List<String> JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m");

    private final LocalGroup group;
    /** The group's CA: it signed every node's certificate. */
    private final TestCertificates ca;

    CoordinatorGroup(int size, String... options) throws Exception {
        this(size, List.of(), options);
    }

    /** {@code jvm}: JVM options of every node beyond the usual ones ({@code -Draft.*} go to Ratis). */
    CoordinatorGroup(int size, List<String> jvm, String... options) throws Exception {
        this(size, jvm, node -> Map.of(), options);
    }

    /** {@code environment}: what each node ({@code 0..size-1}) has in its environment beyond this JVM's. */
    CoordinatorGroup(int size, List<String> jvm, IntFunction<Map<String, String>> environment, String... options)
            throws Exception {
        assertTrue(JAR.isFile(), "build the coordinator jar first: " + JAR.getAbsolutePath());
        this.ca = new TestCertificates();
        List<List<String>> peerTls = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            Path[] own = ca.issue(LocalGroup.id(i));
            peerTls.add(peerTlsOptions(own[0], own[1], ca.caPem()));
        }
        List<String> launch = new ArrayList<>(List.of(Proc.java()));
        launch.addAll(JVM);
        launch.addAll(jvm);
        launch.addAll(List.of("-jar", JAR.getPath()));
        this.group = LocalGroup.start(new LocalGroup.Settings(launch).size(size).options(List.of(options))
                .nodeOptions(peerTls::get).environment(environment));
    }

    static List<String> peerTlsOptions(Path cert, Path key, Path ca) {
        return List.of("--peer-tls-cert", cert.toString(), "--peer-tls-key", key.toString(), "--peer-tls-ca",
                ca.toString());
    }

    /** The group's CA: it signed every node's certificate. */
    TestCertificates ca() {
        return ca;
    }

    /** Node {@code i}'s peer TLS options from its next start on (another CA's certificate, say). */
    void usePeerTls(int i, List<String> options) {
        group.nodeOptions(i, options);
    }

    /** Starts (or restarts) node {@code i} and waits until it listens. */
    void start(int i) throws Exception {
        group.start(i);
    }

    /** Starts every node that is not running, all at once, and waits until they listen. */
    void startAll() throws Exception {
        group.startAll();
    }

    /** SIGKILL of node {@code i}: no goodbye to anyone. */
    void kill(int i) throws Exception {
        group.kill(i);
    }

    /** SIGTERM of node {@code i}, as an operator stops it; returns its exit code. */
    int stop(int i) throws Exception {
        return group.stop(i);
    }

    boolean alive(int i) {
        return group.alive(i);
    }

    int size() {
        return group.size();
    }

    /** The members, by id, with the address of their Raft traffic. */
    Map<String, String> peers() {
        return group.peers();
    }

    /** Every node's client address, as a client takes them. */
    String addresses() {
        return group.addresses();
    }

    /** The node that leads now, as the nodes' logs say, waiting up to {@code seconds} for one (else the test fails). */
    int leader(int seconds) throws Exception {
        try {
            return group.awaitLeader(Duration.ofSeconds(seconds));
        } catch (IOException e) {
            return fail(e.getMessage());
        }
    }

    /** Node {@code i}'s answer to GET {@code path} on its HTTP port. */
    String http(int i, String path) throws IOException, InterruptedException {
        return group.get(i, path).body();
    }

    /** Node {@code i}'s answer to GET {@code path}: the status code, a space, the body. */
    String httpStatus(int i, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = group.get(i, path);
        return r.statusCode() + " " + r.body();
    }

    /** Node {@code i}'s client address. */
    String address(int i) {
        return group.address(i);
    }

    /** What node {@code i} logged since it last started. */
    List<String> log(int i) throws IOException {
        return group.log(i);
    }

    @Override
    public void close() {
        group.close();
        LocalGroup.deleteTree(ca.dir);
    }
}
