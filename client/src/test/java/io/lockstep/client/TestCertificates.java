package io.lockstep.client;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;

/** A throwaway CA, and certificates it signs, written as PEM files: for the TLS tests. */
final class TestCertificates {

    final Path dir;
    private final KeyPair caKeys;
    private final X509Certificate ca;
    private long serial = 1;

    TestCertificates() throws Exception {
        dir = Files.createTempDirectory("lockstep-tls-");
        caKeys = keys();
        ca = sign("CN=Lockstep test CA", caKeys, caKeys.getPrivate(), new X500Name("CN=Lockstep test CA"), true);
        write("ca.pem", ca);
    }

    Path caPem() {
        return dir.resolve("ca.pem");
    }

    /** A certificate for {@code name} (also valid for localhost and 127.0.0.1); returns {cert.pem, key.pem}. */
    Path[] issue(String name) throws Exception {
        KeyPair kp = keys();
        X509Certificate cert = sign("CN=" + name, kp, caKeys.getPrivate(), new X500Name(ca.getSubjectX500Principal()
                .getName()), false);
        Path certPem = write(name + ".pem", cert);
        Path keyPem = dir.resolve(name + "-key.pem");
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(new JcaPKCS8Generator(kp.getPrivate(), null));
        }
        Files.writeString(keyPem, sw.toString());
        return new Path[]{certPem, keyPem};
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    private X509Certificate sign(String subject, KeyPair subjectKeys, PrivateKey issuerKey, X500Name issuer,
                                 boolean isCa) throws Exception {
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(serial++),
                Date.from(now.minus(1, ChronoUnit.DAYS)), Date.from(now.plus(1, ChronoUnit.DAYS)),
                new X500Name(subject), subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (!isCa) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[]{
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
        }
        X509CertificateHolder holder = b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKey));
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    private Path write(String file, X509Certificate cert) throws Exception {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(cert);
        }
        Path p = dir.resolve(file);
        Files.writeString(p, sw.toString());
        return p;
    }
}
