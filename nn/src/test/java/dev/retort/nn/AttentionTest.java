package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link Ops#attention}: over runs of query rows when a large score map needs no backward, whole otherwise. */
class AttentionTest {
    static Engine engine;
    /** 37 query rows of 2·3·11 scores × 4 bytes = 264 bytes each. */
    static final Shape QUERIES = new Shape(2, 3, 37, 8), KEYS = new Shape(2, 3, 11, 8);
    static final long ROW_BYTES = 2 * 3 * 11 * 4;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void runsHoldAtMostTheBoundAndAtLeastOneRow() {
        assertArrayEquals(new long[] {5, 10, 15, 20, 25, 30, 35}, Ops.runStarts(QUERIES, 11, 4, ROW_BYTES * 5));
        assertArrayEquals(new long[] {5, 10, 15, 20, 25, 30, 35}, Ops.runStarts(QUERIES, 11, 4, ROW_BYTES * 6 - 1));
        assertEquals(36, Ops.runStarts(QUERIES, 11, 4, 1).length, "one row per run");
        assertArrayEquals(new long[0], Ops.runStarts(QUERIES, 11, 4, ROW_BYTES * 37), "the whole map fits");
        // MiT-B2's stage 1 at 512×1024, batch 2: 32768 queries, 512 keys (reduction 8), 134 MB, in runs of 4096 rows
        assertEquals(7, Ops.runStarts(new Shape(2, 1, 32768, 64), 512, 4, Ops.ATTENTION_CHUNK_BYTES).length);
        // and at 256×512: 8192 queries against 128 keys, 8.4 MB, whole
        assertEquals(0, Ops.runStarts(new Shape(2, 1, 8192, 64), 128, 4, Ops.ATTENTION_CHUNK_BYTES).length);
    }

    @Test
    void withoutAGradientRunsOfQueryRowsGiveTheWholeMapsOutput() {
        float[] whole = attention(Long.MAX_VALUE, false)[0];
        for (long bound : new long[] {ROW_BYTES * 5, ROW_BYTES * 5 + 100, ROW_BYTES, 1}) {
            float[] runs = attention(bound, false)[0];
            assertEquals(whole.length, runs.length);
            for (int j = 0; j < whole.length; j++) {
                assertEquals(whole[j], runs[j], 1e-6 * (1 + Math.abs(whole[j])), "element " + j + ", bound " + bound);
            }
        }
    }

    @Test
    void underAutogradTheMapStaysWholeSoOutputAndGradientsAreTheSameBitForBit() {
        float[][] whole = attention(Long.MAX_VALUE, true), bounded = attention(ROW_BYTES, true);
        for (int i = 0; i < whole.length; i++) assertArrayEquals(whole[i], bounded[i], "array " + i);
    }

    /** The output, then (with gradients) the gradients of q, k and v of sum(output · weights), for fixed random inputs. */
    private static float[][] attention(long bound, boolean gradients) {
        SplittableRandom random = new SplittableRandom(3);
        try (NDManager m = engine.newBaseManager()) {
            NDArray q = random(m, random, QUERIES), k = random(m, random, KEYS), v = random(m, random, KEYS);
            NDArray weights = random(m, random, QUERIES);
            if (!gradients) return new float[][] {Ops.attention(q, k, v, bound).toFloatArray()};
            for (NDArray x : new NDArray[] {q, k, v}) x.setRequiresGradient(true);
            float[] out;
            try (GradientCollector c = engine.newGradientCollector()) {
                NDArray y = Ops.attention(q, k, v, bound);
                out = y.toFloatArray();
                c.backward(y.mul(weights).sum());
            }
            return new float[][] {out, q.getGradient().toFloatArray(), k.getGradient().toFloatArray(), v.getGradient().toFloatArray()};
        }
    }

    private static NDArray random(NDManager m, SplittableRandom random, Shape shape) {
        float[] values = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextDouble() * 4 - 2);
        return m.create(values, shape);
    }
}
