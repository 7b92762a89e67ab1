package dev.retort.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import java.util.Set;
import java.util.TreeSet;

/** Assertions on tensors and networks that the bundles' tests share, in the manner of DJL's {@code ai.djl.testing.Assertions}. */
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

    /**
     * A network asked for every tap but the logits gives exactly those taps, bit-identical to its whole forward's
     * (the encoder alone ran, the same computation).
     */
    public static void assertEncoderAloneGivesTheSameTaps(SegmentationNetwork net, NDArray image) {
        TapValues all = net.forward(image, false);
        Set<String> encoder = new TreeSet<>(all.values().keySet());
        encoder.remove(TapNames.LOGITS);
        TapValues some = net.forward(image, false, encoder);
        assertEquals(encoder, some.values().keySet(), "every encoder tap, and no logits");
        for (String tap : encoder) assertArrayEquals(all.get(tap).toFloatArray(), some.get(tap).toFloatArray(), tap);
    }
}
