package io.lockstep.coordinator.group;

import io.netty.handler.ssl.SslContextBuilder;
import org.apache.ratis.grpc.GrpcTlsConfig;

import javax.net.ssl.SSLException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Mutual TLS between the nodes of a group: this node's certificate chain and private key (PEM; the key PKCS#8, as
 * for {@code --tls-key}), and the group's CA (PEM). A node accepts Raft traffic only from a peer whose certificate the
 * CA signed, and dials a peer only if the certificate it shows was signed by the CA and names the host it dialled
 * (as a DNS or IP subject alternative name) — so each node's certificate names the host its {@code --peers} entry
 * gives.
 *
 * @param certificate the node's certificate chain
 * @param privateKey  its private key
 * @param ca          the group's CA: the only issuer a peer's certificate is trusted from
 */
public record PeerTls(Path certificate, Path privateKey, Path ca) {

    /** Checks that every file is there and that they make a TLS context, naming the option whose file is wrong. */
    public PeerTls {
        if (certificate == null || privateKey == null || ca == null) {
            throw new IllegalArgumentException("peer TLS needs all three of --peer-tls-cert, --peer-tls-key and "
                    + "--peer-tls-ca");
        }
        readable(certificate, "--peer-tls-cert");
        readable(privateKey, "--peer-tls-key");
        readable(ca, "--peer-tls-ca");
        try {
            SslContextBuilder.forClient().trustManager(ca.toFile()).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("--peer-tls-ca " + ca + " is not a PEM certificate: " + e.getMessage());
        }
        try {
            SslContextBuilder.forServer(certificate.toFile(), privateKey.toFile()).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("--peer-tls-cert " + certificate + " and --peer-tls-key " + privateKey
                    + " are not a PEM certificate chain and its PKCS#8 key: " + rootMessage(e));
        }
    }

    private static void readable(Path file, String option) {
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("cannot read " + option + " " + file);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
    }

    /** Ratis's form of it: mutual TLS, from the same files. */
    GrpcTlsConfig ratis() {
        return new GrpcTlsConfig(privateKey.toFile(), certificate.toFile(), ca.toFile(), true);
    }
}
