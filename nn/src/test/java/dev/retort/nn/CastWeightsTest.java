package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A frozen network runs in float16 through {@link CastWeights}: {@link Ops} reads the copies while they are open and
 * the originals otherwise. float16 rounds to a 10-bit stored mantissa (unit roundoff u = 2⁻¹¹); a linear or
 * convolution whose inputs and weights are both rounded, and whose result is rounded once more, is within
 * 3u·Σ|x|·|w| (+ u·|b|) of float32 per element (float32's own error is 2¹³ times smaller), whatever the accumulation
 * order. Also pins the DJL 0.35.1 facts the run-level precision keys rest on.
 */
class CastWeightsTest {
    private static final double U16 = Math.scalb(1.0, -11);
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void linearAndConvolutionUseTheOpenCopiesWithinTheFloat16Bound() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = random(m, 1, new Shape(2, 5, 24));
            NDArray w = random(m, 2, new Shape(7, 24)), b = random(m, 3, new Shape(7));
            NDArray expected = Ops.linear(x, w, b);
            // sum over k of |x_k|·|w_jk|, plus |b_j|: the scale of each output's rounding error
            NDArray scale = x.abs().matMul(w.abs().transpose()).add(b.abs());
            try (CastWeights half = new CastWeights(List.of(w, b), DataType.FLOAT16)) {
                assertEquals(2, half.size());
                assertEquals(DataType.FLOAT16, half.copyOf(w).getDataType());
                NDArray got;
                try (CastWeights.Scope open = half.open()) {
                    got = Ops.linear(x.toType(DataType.FLOAT16, false), w, b);
                }
                assertEquals(DataType.FLOAT16, got.getDataType(), "the linear read the float16 copies");
                assertWithin(expected, got.toType(DataType.FLOAT32, false), Scalars.mul(scale, 3 * U16));
                // closed: the originals again
                assertEquals(DataType.FLOAT32, Ops.linear(x, w, b).getDataType());
            }
            assertEquals(DataType.FLOAT32, w.getDataType(), "the original weights are untouched");

            NDArray image = random(m, 4, new Shape(1, 3, 9, 9));
            NDArray k = random(m, 5, new Shape(4, 3, 3, 3)), kb = random(m, 6, new Shape(4));
            NDArray convExpected = Ops.conv2d(image, k, kb, 2, 1, 1);
            NDArray convScale = Ops.conv2d(image.abs(), k.abs(), kb.abs(), 2, 1, 1);
            try (CastWeights half = new CastWeights(List.of(k, kb), DataType.FLOAT16); CastWeights.Scope open = half.open()) {
                NDArray got = Ops.conv2d(image.toType(DataType.FLOAT16, false), k, kb, 2, 1, 1);
                assertEquals(DataType.FLOAT16, got.getDataType());
                assertWithin(convExpected, got.toType(DataType.FLOAT32, false), Scalars.mul(convScale, 3 * U16));
            }
        }
    }

    @Test
    void scopesNestAndRestoreWhatTheThreadUsedBefore() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray w = random(m, 7, new Shape(3, 4));
            NDArray x = random(m, 8, new Shape(2, 4));
            try (CastWeights half = new CastWeights(List.of(w), DataType.FLOAT16);
                 CastWeights wide = new CastWeights(List.of(w), DataType.FLOAT64)) {
                try (CastWeights.Scope outer = half.open()) {
                    try (CastWeights.Scope inner = wide.open()) {
                        assertEquals(DataType.FLOAT64, Ops.linear(x.toType(DataType.FLOAT64, false), w, null).getDataType());
                    }
                    assertEquals(DataType.FLOAT16, Ops.linear(x.toType(DataType.FLOAT16, false), w, null).getDataType());
                }
                assertEquals(DataType.FLOAT32, Ops.linear(x, w, null).getDataType());
            }
            assertThrows(IllegalArgumentException.class, () -> new CastWeights(List.of(w), DataType.INT32));
        }
    }

    /**
     * DJL 0.35.1's {@code toType} between types records no gradient: a float32 master weight gets none through a
     * cast copy. This is why the student has no mixed precision in this version (README, Precision). When an
     * upgrade makes the cast differentiable this test fails: revisit {@code precision} then.
     */
    @Test
    void djlCastBetweenTypesRecordsNoGradient() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray master = m.create(new float[] {1, 2, 3}, new Shape(3));
            master.setRequiresGradient(true);
            try (GradientCollector collector = engine.newGradientCollector()) {
                NDArray loss = master.toType(DataType.FLOAT64, false).sum();
                EngineException e = assertThrows(EngineException.class, () -> collector.backward(loss));
                assertTrue(e.getMessage().contains("does not require grad"), e.getMessage());
            }
            // the same graph without the cast reaches the master: d(Σ x²)/dx = 2x
            try (GradientCollector collector = engine.newGradientCollector()) {
                collector.backward(master.mul(master).sum());
            }
            assertEquals(List.of(2f, 4f, 6f), boxed(master.getGradient().toFloatArray()));
        }
    }

    /** libtorch 2.7.1's CPU kernels have no float16 bilinear resize, which every SegFormer head uses. */
    @Test
    void cpuHasNoFloat16BilinearResize() {
        try (NDManager m = engine.newBaseManager()) {
            if (!Device.Type.CPU.equals(m.getDevice().getDeviceType())) return;
            NDArray map = random(m, 9, new Shape(1, 2, 4, 4)).toType(DataType.FLOAT16, false);
            EngineException e = assertThrows(EngineException.class, () -> Ops.resizeBilinear(map, 8, 8).toFloatArray());
            assertTrue(e.getMessage().contains("not implemented for 'Half'"), e.getMessage());
        }
    }

    private static void assertWithin(NDArray expected, NDArray got, NDArray bound) {
        float[] e = expected.toFloatArray(), g = got.toFloatArray(), b = bound.toFloatArray();
        assertEquals(e.length, g.length);
        for (int i = 0; i < e.length; i++) {
            // float32's own rounding of the reference (2^-24 relative) is added so the bound is never tighter than it
            double allowed = b[i] * (1 + 1e-6) + 1e-7;
            assertTrue(Math.abs(e[i] - g[i]) <= allowed, "element " + i + ": float32 " + e[i] + ", float16 " + g[i] + ", bound " + allowed);
        }
    }

    private static NDArray random(NDManager m, long seed, Shape shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return m.create(v, shape);
    }

    private static List<Float> boxed(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return List.of(b);
    }
}
