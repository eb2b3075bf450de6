package io.lockstep.cli;

import io.lockstep.client.LockstepClient;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The options every client-side command takes to reach a coordinator — where it is, its shared secret, TLS — as
 * a picocli mixin ({@code @Mixin ClientOptions coordinator;}). Subcommands inherit them, so {@code lockstep
 * --coordinator h:7777 status} and {@code lockstep status --coordinator h:7777} are the same.
 */
public final class ClientOptions {

    @Option(names = "--coordinator", paramLabel = "HOST:PORT", scope = ScopeType.INHERIT,
            defaultValue = "${env:LOCKSTEP_COORDINATOR:-localhost:7777}",
            description = "The coordinator (default: $LOCKSTEP_COORDINATOR, else localhost:7777).")
    String coordinator;

    @Option(names = "--auth-secret-file", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "The coordinator's shared secret, if it requires one (or $LOCKSTEP_AUTH_SECRET).")
    Path authSecretFile;

    @Option(names = "--tls", scope = ScopeType.INHERIT,
            description = "Connect with TLS, trusting the JVM's default CAs (or --tls-ca).")
    boolean tls;

    @Option(names = "--tls-ca", paramLabel = "PEM", scope = ScopeType.INHERIT,
            description = "Connect with TLS, trusting this CA.")
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "PEM", scope = ScopeType.INHERIT,
            description = "A client certificate, for mutual TLS (with --tls-key).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", scope = ScopeType.INHERIT,
            description = "The PKCS#8 key of --tls-cert.")
    Path tlsKey;

    /** The coordinator's address, as given. */
    public String coordinator() {
        return coordinator;
    }

    /**
     * A client builder for {@code clientName} with these options applied.
     *
     * @throws IOException              if the secret file cannot be read
     * @throws IllegalArgumentException if the options do not fit together (a certificate without its key) or the
     *                                  address is malformed; the message says which
     */
    public LockstepClient.Builder builder(String clientName) throws IOException {
        LockstepClient.Builder b = LockstepClient.builder().address(coordinator).clientName(clientName);
        b.authSecretFromFileOrEnvironment(authSecretFile);
        if (tls || tlsCa != null) {
            b.tls(tlsCa);
        }
        if (tlsCert != null || tlsKey != null) {
            if (tlsCert == null || tlsKey == null) {
                throw new IllegalArgumentException("--tls-cert and --tls-key go together");
            }
            b.tlsClientCertificate(tlsCert, tlsKey);
        }
        return b;
    }
}
