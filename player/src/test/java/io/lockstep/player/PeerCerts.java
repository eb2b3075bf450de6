package io.lockstep.player;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The certificates of a group's Raft traffic, made as an operator makes them: with {@code bin/peer-certs} (openssl;
 * a test that calls it asks {@link NetnsCluster#assumeAvailable} for {@code openssl} first).
 */
final class PeerCerts {

    private PeerCerts() {
    }

    /** Makes a group CA and a certificate for each node {@code id -> host} in {@code dir}. */
    static void make(Path root, Path dir, Map<String, String> hosts) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(root.resolve("bin/peer-certs").toString(), dir.toString()));
        hosts.forEach((id, host) -> cmd.add(id + "=" + host));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "bin/peer-certs did not finish");
        assertEquals(0, p.exitValue(), "bin/peer-certs failed: " + said);
    }

    /** The options that give node {@code id} its certificate from {@code dir}. */
    static List<String> options(Path dir, String id) {
        return List.of("--peer-tls-cert", dir.resolve(id + ".pem").toString(),
                "--peer-tls-key", dir.resolve(id + "-key.pem").toString(),
                "--peer-tls-ca", dir.resolve("ca.pem").toString());
    }
}
