package io.lockstep.protocol;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * The challenge-response both ends compute: the coordinator sends a fresh random nonce; the client answers
 * {@code HMAC-SHA256(secret, "LKST-AUTH-1" || nonce || UTF-8 client name)}. The secret never crosses the wire, and
 * an answer recorded on one connection is worthless on another (its nonce differs).
 */
public final class Authentication {

    public static final int NONCE_BYTES = 32;
    private static final byte[] DOMAIN = "LKST-AUTH-1".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private Authentication() {
    }

    public static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    public static byte[] answer(byte[] secret, byte[] nonce, String clientName) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(DOMAIN);
            mac.update(nonce);
            mac.update(clientName.getBytes(StandardCharsets.UTF_8));
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    /** Checks an answer in constant time. */
    public static boolean verify(byte[] secret, byte[] nonce, String clientName, byte[] answer) {
        return MessageDigest.isEqual(answer(secret, nonce, clientName), answer);
    }
}
