package io.lockstep.bench;

import io.lockstep.launch.LocalGroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The benchmarks' groups: {@link LocalGroup}s with their Raft log and, if asked, peer TLS from {@code bin/peer-certs}. */
final class LocalGroups {

    private LocalGroups() {
    }

    /**
     * Starts a group of {@code size} nodes; {@code launch}: the command up to the coordinator's own options;
     * {@code peerTls}: mutual TLS between the nodes, with certificates {@code bin/peer-certs} makes for them.
     */
    static LocalGroup start(List<String> launch, List<String> options, int size, String raftLog, boolean peerTls)
            throws Exception {
        Path dir = Files.createTempDirectory("lockstep-bench-group-");
        List<List<String>> tls = new ArrayList<>();
        if (peerTls) {
            Path certs = dir.resolve("certs");
            List<String> cmd = new ArrayList<>(List.of(peerCertsScript().toString(), certs.toString()));
            for (int i = 0; i < size; i++) {
                cmd.add(LocalGroup.id(i) + "=127.0.0.1");
            }
            Process made = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String said = new String(made.getInputStream().readAllBytes());
            if (made.waitFor() != 0) {
                throw new IOException("bin/peer-certs failed: " + said);
            }
            for (int i = 0; i < size; i++) {
                String id = LocalGroup.id(i);
                tls.add(List.of("--peer-tls-cert", certs.resolve(id + ".pem").toString(),
                        "--peer-tls-key", certs.resolve(id + "-key.pem").toString(),
                        "--peer-tls-ca", certs.resolve("ca.pem").toString()));
            }
        }
        List<String> all = new ArrayList<>(options);
        all.addAll(List.of("--raft-log", raftLog));
        return LocalGroup.start(new LocalGroup.Settings(launch).size(size).dir(dir).options(all)
                .nodeOptions(i -> peerTls ? tls.get(i) : List.of()));
    }

    /** The checkout's {@code bin/peer-certs}, found from this jar ({@code bench/target/lockstep-bench.jar}). */
    private static Path peerCertsScript() throws Exception {
        Path self = Path.of(LocalGroups.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path script = self.getParent().resolve("../../bin/peer-certs").normalize();
        if (!Files.isExecutable(script)) {
            throw new IOException("peer TLS needs " + script + " (and openssl)");
        }
        return script;
    }
}
