package dev.retort.runner.teachercache;

import dev.retort.api.backbone.SegmentationNetwork;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.TreeMap;

/** Content hashes of weights: what the preparation cache and the teacher-output cache key on. */
public final class WeightDigest {
    private WeightDigest() {}

    /** SHA-256 (hex) of a network's parameters and buffers: names, shapes and float32 values, in name order. */
    public static String of(SegmentationNetwork network) {
        MessageDigest d = sha256();
        new TreeMap<>(network.parameters()).forEach((k, v) -> {
            d.update(k.getBytes(StandardCharsets.UTF_8));
            d.update(Arrays.toString(v.getArray().getShape().getShape()).getBytes(StandardCharsets.UTF_8));
            update(d, v.getArray().toFloatArray());
        });
        return HexFormat.of().formatHex(d.digest());
    }

    /** A new SHA-256 digest. */
    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }

    /** The first {@code chars} hex digits of the SHA-256 of {@code text}. */
    public static String hex(String text, int chars) {
        return HexFormat.of().formatHex(sha256().digest(text.getBytes(StandardCharsets.UTF_8))).substring(0, chars);
    }

    /** Adds float values to a digest, little-endian. */
    public static void update(MessageDigest d, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        d.update(b);
    }
}
