package io.lockstep.coordinator;

import io.lockstep.coordinator.group.GroupConfig;
import io.lockstep.coordinator.server.ServerConfig;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where options come from (command line, environment, config file, default) and how bad values are refused. */
class ConfigurationTest {

    private static ServerConfig parse(Map<String, String> env, Path file, String... args) throws Exception {
        Main main = new Main(env);
        Main.commandLine(main, new EnvironmentDefaults(env, file)).parseArgs(args);
        return main.serverConfig();
    }

    @Test
    void commandLineBeatsEnvironmentBeatsConfigFileBeatsDefault() throws Exception {
        Path file = Files.createTempFile("lockstep", ".properties");
        Files.writeString(file, "port=8000\nmax-barriers=7\nhttp-port=8001\n");
        assertEquals(7777, parse(Map.of(), null).port(), "default");
        assertEquals(8000, parse(Map.of(), file).port(), "config file over default");
        assertEquals(7, parse(Map.of(), file).limits().maxBarriers());
        assertEquals(9000, parse(Map.of("LOCKSTEP_PORT", "9000"), file).port(), "environment over config file");
        assertEquals(9500, parse(Map.of("LOCKSTEP_PORT", "9000"), file, "--port", "9500").port(),
                "command line over environment");
        assertEquals(8001, parse(Map.of(), file).httpPort());
        assertEquals(ServerConfig.NO_HTTP, parse(Map.of(), file, "--no-http").httpPort());
        assertEquals(123, parse(Map.of("LOCKSTEP_MAX_AWAITS_PER_SESSION", "123"), null).limits().maxAwaitsPerSession());
    }

    @Test
    void everyDurationTakesOneSyntaxFromEverySource() throws Exception {
        Path file = Files.createTempFile("lockstep", ".properties");
        Files.writeString(file, "session-lease=PT20S\nreconnect-grace=250ms\n");
        assertEquals(10_000, parse(Map.of(), null).sessions().defaultLeaseMillis(), "default");
        assertEquals(1_000, parse(Map.of(), null).sessions().reconnectGraceMillis(), "default");
        assertEquals(10_000, parse(Map.of(), null, "--session-lease", "10s").sessions().defaultLeaseMillis());
        assertEquals(1_500, parse(Map.of(), null, "--session-lease", "1.5s").sessions().defaultLeaseMillis());
        assertEquals(120_000, parse(Map.of(), null, "--max-lease", "2m").sessions().maxLeaseMillis());
        assertEquals(7_000, parse(Map.of(), null, "--session-lease", "7000").sessions().defaultLeaseMillis(),
                "a bare number is milliseconds, as it was");
        assertEquals(20_000, parse(Map.of(), file).sessions().defaultLeaseMillis(), "ISO-8601, from the file");
        assertEquals(250, parse(Map.of(), file).sessions().reconnectGraceMillis());
        assertEquals(3_000, parse(Map.of("LOCKSTEP_HANDSHAKE_TIMEOUT", "3s"), null).handshakeMillis());
        assertEquals(2, run(Map.of(), "--session-lease", "10x"));
        assertTrue(lastError.contains("'10x' is not a duration; write it like 500ms, 10s"), lastError);
    }

    @Test
    void theSecretComesFromAFileOrTheEnvironmentNeverTheCommandLine() throws Exception {
        Path secret = Files.createTempFile("secret", "");
        Files.writeString(secret, "a shared secret of some length\n");
        assertEquals("a shared secret of some length",
                new String(parse(Map.of(), null, "--auth-secret-file", secret.toString()).authSecret(),
                        StandardCharsets.UTF_8));
        assertEquals("from the environment, long enough",
                new String(parse(Map.of("LOCKSTEP_AUTH_SECRET", "from the environment, long enough"), null)
                        .authSecret(), StandardCharsets.UTF_8));
        assertEquals(2, run(Map.of(), "--auth-secret", "plain"), "there is no option that takes the secret itself");
    }

    private static int run(Map<String, String> env, String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            return Main.run(args, env);
        } finally {
            System.setErr(err);
            lastError = captured.toString(StandardCharsets.UTF_8);
        }
    }

    private static String lastError = "";

    @Test
    void badValuesGiveOneLineAndExitCodeTwo() {
        for (String[] args : new String[][]{
                {"--port", "abc"}, {"--port", "70000"}, {"--max-frame-bytes", "10"}, {"--log-format", "xml"},
                {"--session-lease", "100"}, {"--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.pem"},
                {"--no-such-option"}}) {
            assertEquals(2, run(Map.of(), args), String.join(" ", args));
            assertTrue(lastError.startsWith("lockstep-coordinator: "), lastError);
            assertFalse(lastError.contains("\tat "), "no stack trace: " + lastError);
        }
        assertEquals(2, run(Map.of("LOCKSTEP_PORT", "not-a-port")));
        assertEquals(2, run(Map.of("LOCKSTEP_CONFIG", "/nonexistent/lockstep.properties")));
        assertTrue(lastError.contains("config file"), lastError);
    }

    private static GroupConfig group(String... args) throws Exception {
        Main main = new Main(Map.of());
        Main.commandLine(main, new EnvironmentDefaults(Map.of(), null)).parseArgs(args);
        return main.groupConfig();
    }

    private static final String[] ACROSS_HOSTS = {"--node-id", "n1", "--data-dir", "/tmp/lockstep-n1", "--peers",
            "n1=10.1.1.1:7790,n2=10.1.1.2:7790,n3=10.1.1.3:7790"};

    private static String[] with(String[] base, String... more) {
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void aGroupAcrossHostsNeedsPeerTlsOrSaysOnPurposeThatItRunsWithout() throws Exception {
        assertEquals(2, run(Map.of(), ACROSS_HOSTS));
        assertTrue(lastError.startsWith("lockstep-coordinator: the group's Raft traffic would cross the network in "
                + "plaintext (n1=10.1.1.1:7790 is not on loopback)"), lastError);
        assertTrue(lastError.contains("--peer-tls-cert") && lastError.contains("--peer-insecure"), lastError);

        GroupConfig insecure = group(with(ACROSS_HOSTS, "--peer-insecure"));
        assertTrue(insecure.plaintextAcrossNetwork(), "allowed, on purpose");
        Main main = new Main(Map.of("LOCKSTEP_PEER_INSECURE", "true"));
        Main.commandLine(main, new EnvironmentDefaults(Map.of("LOCKSTEP_PEER_INSECURE", "true"), null))
                .parseArgs(ACROSS_HOSTS);
        GroupConfig fromEnvironment = main.groupConfig();
        assertTrue(fromEnvironment.peerInsecure(), "LOCKSTEP_PEER_INSECURE=true, as in a compose file");

        GroupConfig loopback = group("--node-id", "n1", "--data-dir", "/tmp/lockstep-n1", "--peers",
                "n1=127.0.0.1:7790,n2=localhost:7791,n3=127.0.0.1:7792");
        assertTrue(loopback.onLoopback() && !loopback.plaintextAcrossNetwork(), "loopback needs nothing");
    }

    @Test
    void peerTlsOptionsThatCannotWorkGiveOneLineAndExitCodeTwo() throws Exception {
        Path garbage = Files.createTempFile("not-a-certificate", ".pem");
        Files.writeString(garbage, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        String g = garbage.toString();
        String[][] cases = {
                {"--peer-tls-cert", g},
                {"--peer-tls-cert", "/nonexistent.pem", "--peer-tls-key", g, "--peer-tls-ca", g},
                {"--peer-tls-cert", g, "--peer-tls-key", g, "--peer-tls-ca", g},
                {"--peer-tls-cert", g, "--peer-tls-key", g, "--peer-tls-ca", g, "--peer-insecure"},
        };
        String[] expected = {"needs all three of --peer-tls-cert, --peer-tls-key and --peer-tls-ca",
                "cannot read --peer-tls-cert /nonexistent.pem", "--peer-tls-ca " + g + " is not a PEM certificate",
                "--peer-tls-ca " + g + " is not a PEM certificate"};
        for (int i = 0; i < cases.length; i++) {
            assertEquals(2, run(Map.of(), with(ACROSS_HOSTS, cases[i])), String.join(" ", cases[i]));
            assertTrue(lastError.startsWith("lockstep-coordinator: ") && lastError.contains(expected[i]), lastError);
            assertFalse(lastError.contains("\tat "), "no stack trace: " + lastError);
        }
        assertEquals(2, run(Map.of(), "--peer-insecure"));
        assertTrue(lastError.contains("are for a node of a group: give --peers too"), lastError);
    }
}
