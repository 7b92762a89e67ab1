package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
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
 * bfloat16 through {@link BFloat16}'s TorchScript methods, against float32 on real tensors. bfloat16 keeps 8
 * significant bits (7 stored): rounding to nearest has unit roundoff u = 2⁻⁸. A product whose two inputs are rounded, accumulated
 * in float32 (libtorch's bfloat16 GEMMs and convolutions accumulate in float32) and whose result is rounded once more
 * is within 3u·Σ|x|·|w| + 2u·|b| of float32 per element (float32's own error is 2¹⁵ times smaller).
 */
class BFloat16Test {
    private static final double U = Math.scalb(1.0, -8);
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void castsRoundToNearestAndBfloat16IsRecognised() {
        try (NDManager m = engine.newBaseManager()) {
            // exactly representable in 8 significant bits: unchanged by the round trip
            float[] exact = {1.5f, -0.75f, 3f, 0f, 256f, -1.0078125f};
            NDArray b = BFloat16.cast(m.create(exact));
            assertEquals(DataType.UNKNOWN, b.getDataType(), "DJL cannot name bfloat16");
            assertTrue(BFloat16.is(b));
            assertFalse(BFloat16.is(m.create(exact)));
            assertFalse(BFloat16.is(m.create(new int[] {1})));
            assertArrayEquals(exact, BFloat16.toFloat32(b).toFloatArray());
            // above 1 the spacing is 2⁻⁷: 1 + 2⁻⁸ is a tie between 1 and 1 + 2⁻⁷ and goes to the even mantissa (1);
            // 1 + 3·2⁻⁸ ties between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶ (even); 1 + 2⁻⁸ + 2⁻¹⁶ is past the tie and rounds up
            float u = (float) Math.scalb(1.0, -8);
            float[] ties = {1f + u, 1f + 3f * u, 1f + u + (float) Math.scalb(1.0, -16)};
            assertArrayEquals(new float[] {1f, 1f + 4f * u, 1f + 2f * u}, BFloat16.toFloat32(BFloat16.cast(m.create(ties))).toFloatArray());
            NDArray x = random(m, 1, new Shape(1000));
            NDArray back = BFloat16.toFloat32(BFloat16.cast(x));
            assertEquals(DataType.FLOAT32, back.getDataType());
            assertWithin(x, back, Scalars.mul(x.abs(), U));
            assertTrue(x.sub(back).abs().max().getFloat() > 0, "random values lose bits in bfloat16");
        }
    }

    @Test
    void linearMatMulAndConvolutionAreWithinTheBfloat16BoundAndDifferentiable() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = random(m, 2, new Shape(3, 5, 40)), w = random(m, 3, new Shape(7, 40)), b = random(m, 4, new Shape(7));
            NDArray scale = x.abs().matMul(w.abs().transpose());
            assertWithin(Ops.linear(x, w, b), BFloat16.linearF32(x, w, b), Scalars.mul(scale, 3 * U).add(Scalars.mul(b.abs(), 2 * U)));
            assertWithin(Ops.linear(x, w, null), BFloat16.linearF32(x, w, null), Scalars.mul(scale, 3 * U));

            NDArray q = random(m, 5, new Shape(2, 3, 6, 16)), k = random(m, 6, new Shape(2, 3, 16, 9));
            assertWithin(q.matMul(k), BFloat16.matMulF32(q, k), Scalars.mul(q.abs().matMul(k.abs()), 3 * U));

            NDArray image = random(m, 7, new Shape(2, 4, 9, 9));
            for (int[] c : List.of(new int[] {1, 1, 1}, new int[] {2, 1, 2}, new int[] {1, 1, 4})) {
                NDArray kernel = random(m, 8, new Shape(4, 4 / c[2], 3, 3)), bias = random(m, 9, new Shape(4));
                NDArray expected = Ops.conv2d(image, kernel, bias, c[0], c[1], c[2]);
                NDArray bound = Scalars.mul(Ops.conv2d(image.abs(), kernel.abs(), null, c[0], c[1], c[2]), 3 * U)
                        .add(Scalars.mul(bias.abs(), 2 * U).reshape(1, 4, 1, 1));
                assertWithin(expected, BFloat16.conv2dF32(image, kernel, bias, c[0], c[1], c[2]), bound);
            }

            // gradients reach the float32 inputs through the casts: d Σ(x·wᵀ + b) / dw_j = Σ_rows x, in bfloat16
            w.setRequiresGradient(true);
            b.setRequiresGradient(true);
            x.setRequiresGradient(true);
            try (GradientCollector gc = engine.newGradientCollector()) {
                gc.backward(BFloat16.linearF32(x, w, b).sum());
            }
            assertEquals(DataType.FLOAT32, w.getGradient().getDataType());
            NDArray rowSum = x.reshape(15, 40).sum(new int[] {0});
            assertWithin(rowSum.broadcast(7, 40), w.getGradient(), Scalars.mul(x.abs().reshape(15, 40).sum(new int[] {0}), 2 * U).broadcast(7, 40));
            assertArrayEquals(new float[] {15, 15, 15, 15, 15, 15, 15}, b.getGradient().toFloatArray());
            assertWithin(w.sum(new int[] {0}).broadcast(3, 5, 40), x.getGradient(), Scalars.mul(w.abs().sum(new int[] {0}), 2 * U).broadcast(3, 5, 40));
        }
    }

    @Test
    void productsScopeSwitchesOpsOnThisThreadOnly() throws InterruptedException {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = random(m, 10, new Shape(4, 32)), w = random(m, 11, new Shape(8, 32));
            NDArray plain = Ops.linear(x, w, null);
            NDArray mixed;
            try (Scope outer = Ops.bf16Products()) {
                try (Scope inner = Ops.bf16Products()) {
                    assertTrue(Ops.bf16ProductsOpen());
                }
                assertTrue(Ops.bf16ProductsOpen(), "closing a nested scope keeps the outer one");
                mixed = Ops.linear(x, w, null);
                boolean[] other = new boolean[1];
                Thread t = new Thread(() -> other[0] = Ops.bf16ProductsOpen());
                t.start();
                t.join();
                assertFalse(other[0], "another thread is not affected");
                assertEquals(DataType.FLOAT32, mixed.getDataType(), "float32 out");
                assertTrue(Ops.matMul(x, w.transpose()).sub(plain).abs().max().getFloat() > 0, "matMul runs in bfloat16 too");
            }
            assertFalse(Ops.bf16ProductsOpen());
            assertTrue(plain.sub(mixed).abs().max().getFloat() > 0, "the product ran in bfloat16");
            assertWithin(plain, mixed, Scalars.mul(x.abs().matMul(w.abs().transpose()), 3 * U));
            assertArrayEquals(plain.toFloatArray(), Ops.linear(x, w, null).toFloatArray(), "closed: float32 again");
        }
    }

    @Test
    void aFrozenNetworkRunsInBfloat16ThroughCastWeights() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = random(m, 12, new Shape(2, 24)), w = random(m, 13, new Shape(6, 24)), b = random(m, 14, new Shape(6));
            NDArray expected = Ops.linear(x, w, b);
            try (CastWeights bf16 = new CastWeights(List.of(w, b), DataType.BFLOAT16)) {
                assertTrue(BFloat16.is(bf16.copyOf(w)));
                NDArray got;
                try (CastWeights.Scope open = bf16.open()) {
                    got = Ops.linear(CastWeights.to(x, DataType.BFLOAT16), w, b);
                }
                assertTrue(BFloat16.is(got), "activations follow the weights' type");
                // a scalar keeps the array's type (a 0-d float32 does not promote it)
                NDArray doubled = Scalars.mul(got, 2);
                assertTrue(BFloat16.is(doubled));
                NDArray back = CastWeights.toFloat32(got);
                assertEquals(DataType.FLOAT32, back.getDataType());
                assertArrayEquals(Scalars.mul(back, 2).toFloatArray(), CastWeights.toFloat32(doubled).toFloatArray());
                assertWithin(expected, back, Scalars.mul(x.abs().matMul(w.abs().transpose()), 3 * U).add(Scalars.mul(b.abs(), 2 * U)));
                // softmax of a bfloat16 array: computed in float32 from its (rounded) values, rounded once to bfloat16
                NDArray logits = CastWeights.to(random(m, 16, new Shape(2, 3, 5)), DataType.BFLOAT16);
                NDArray p = Ops.softmax(logits, -1);
                assertTrue(BFloat16.is(p));
                NDArray exact = CastWeights.toFloat32(logits).softmax(-1);
                assertWithin(exact, CastWeights.toFloat32(p), Scalars.mul(exact, U));
                // bilinear resize of a bfloat16 map: in float32, rounded once
                NDArray resized = Ops.resizeBilinear(map16(m), 7, 5);
                assertTrue(BFloat16.is(resized));
                NDArray resizedExact = Ops.resizeBilinear(CastWeights.toFloat32(map16(m)), 7, 5);
                assertWithin(resizedExact, CastWeights.toFloat32(resized), Scalars.mul(resizedExact.abs(), U));
                // pooling builds its matrices in its input's type
                NDArray map = CastWeights.to(random(m, 15, new Shape(1, 2, 6, 6)), DataType.BFLOAT16);
                assertTrue(BFloat16.is(Ops.adaptiveAvgPool(map, 2, 3)));
                assertTrue(Ops.isFloating(map) && Ops.isFloating(x) && !Ops.isFloating(m.create(new int[] {1})));
            }
        }
    }

    private static NDArray map16(NDManager m) {
        return CastWeights.to(random(m, 17, new Shape(1, 2, 4, 3)), DataType.BFLOAT16);
    }

    private static void assertWithin(NDArray expected, NDArray got, NDArray bound) {
        assertEquals(expected.getShape(), got.getShape());
        NDArray excess = expected.sub(got).abs().sub(bound);
        float worst = excess.max().getFloat();
        if (worst > 1e-6f) {
            long i = excess.flatten().argMax().getLong();
            System.out.println("worst at " + i + ": expected " + expected.flatten().getFloat(i) + " got " + got.flatten().getFloat(i) + " bound " + bound.flatten().getFloat(i));
        }
        assertTrue(worst <= 1e-6f, "exceeds the bfloat16 bound by " + worst);
    }

    private static NDArray random(NDManager m, long seed, Shape shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return m.create(v, shape);
    }
}
