package dev.retort.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The per-process secret that state-changing requests must carry. The page receives it inside its own HTML; another
 * site can send requests to localhost but cannot read that page (same-origin policy), so it cannot forge them.
 */
final class Token {
    /** The request header that carries it. */
    static final String HEADER = "X-Retort-Token";

    private final String value;

    Token(String value) {
        if (value == null || value.length() < 16) throw new IllegalArgumentException("a token needs at least 16 characters");
        this.value = value;
    }

    static Token random() {
        byte[] bytes = new byte[16];
        new SecureRandom().nextBytes(bytes);
        return new Token(HexFormat.of().formatHex(bytes));
    }

    String value() {
        return value;
    }

    /** Constant-time comparison, so that the time of an answer tells nothing about the token. */
    boolean matches(String candidate) {
        if (candidate == null) return false;
        return MessageDigest.isEqual(value.getBytes(StandardCharsets.UTF_8), candidate.getBytes(StandardCharsets.UTF_8));
    }
}
