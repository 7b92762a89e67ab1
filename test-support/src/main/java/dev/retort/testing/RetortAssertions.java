package dev.retort.testing;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;

/** Assertions on tensors that the bundles' tests share, in the manner of DJL's {@code ai.djl.testing.Assertions}. */
public final class RetortAssertions {
    private RetortAssertions() {}

    /** A gradient that can train: every element finite, and not all zero (the parameter is reached by the loss). */
    public static void assertUsefulGradient(String what, NDArray gradient) {
        double norm = 0;
        for (float v : gradient.toFloatArray()) {
            assertTrue(Float.isFinite(v), what + ": non-finite gradient");
            norm += Math.abs(v);
        }
        assertNotEquals(0.0, norm, what + ": zero gradient");
    }
}
