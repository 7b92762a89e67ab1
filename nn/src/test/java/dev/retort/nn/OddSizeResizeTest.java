package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every resize and pool of {@link Ops} at sizes that are not halvings of each other (the maps of an 88×120 input are
 * 22×30, 11×15, 6×8 and 3×4), against PyTorch's rules written out here element by element, forward and backward:
 * bilinear (align_corners false: src = max(0, (dst + ½)·in/out − ½); true: src = dst·(in − 1)/(out − 1)), legacy
 * nearest (src = ⌊dst·in/out⌋) and adaptive average pooling (bin i covers [⌊i·in/out⌋, ⌈(i+1)·in/out⌉)).
 */
class OddSizeResizeTest {
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    /** Numbers worked by hand: a 3-long row shrunk to 2, grown to 5, and grown to 3 with align_corners. */
    @Test
    void bilinearGivesTheHandWorkedValues() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray row = m.create(new float[] {0, 4, 10}, new Shape(1, 1, 1, 3));
            // 3 → 2: scale 1.5, src 0.25 and 1.75: 0.75·0 + 0.25·4 = 1, 0.25·4 + 0.75·10 = 8.5 (an antialiased filter gives 1.3 and 7.8)
            assertArrayEquals(new float[] {1f, 8.5f}, Ops.resizeBilinear(row, 1, 2).toFloatArray(), 1e-6f);
            // 3 → 5: scale 0.6, src 0 (clamped), 0.4, 1.0, 1.6, 2.2 → 0, 1.6, 4, 7.6, 10 (the last index is clamped)
            assertArrayEquals(new float[] {0f, 1.6f, 4f, 7.6f, 10f}, Ops.resizeBilinear(row, 1, 5).toFloatArray(), 1e-5f);
            // align_corners: 3 → 5 puts the corners on the corners: src 0, 0.5, 1, 1.5, 2
            assertArrayEquals(new float[] {0f, 2f, 4f, 7f, 10f}, Ops.resizeBilinear(row, 1, 5, true).toFloatArray(), 1e-6f);
            // align_corners: 3 → 2 keeps the two ends
            assertArrayEquals(new float[] {0f, 10f}, Ops.resizeBilinear(row, 1, 2, true).toFloatArray(), 1e-6f);
        }
    }

    /**
     * The resizes of PVTv2's Semantic FPN head (24×32 → 22×30 after two ×2 upsamplings of 6×8, 12×16 → 11×15), MiT's
     * all-MLP head (3×4, 6×8, 11×15 → 22×30), logits to a label size either way (23×31 → 22×30, 22×30 → 88×120), one
     * axis shrinking while the other grows, and MasKD's align_corners resize.
     */
    @ParameterizedTest
    @CsvSource({"24,32,22,30,false", "12,16,11,15,false", "6,8,12,16,false", "3,4,22,30,false", "6,8,22,30,false", "11,15,22,30,false",
            "23,31,22,30,false", "22,30,88,120,false", "11,15,6,30,false", "3,4,3,4,false", "22,30,88,120,true", "11,15,6,8,true", "6,8,1,1,true"})
    void bilinearFollowsPyTorchsRuleForwardAndBackward(int h, int w, int outH, int outW, boolean alignCorners) {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, 3, h, w));
            NDArray probe = m.randomNormal(new Shape(2, 3, outH, outW));
            x.setRequiresGradient(true);
            NDArray y;
            try (GradientCollector c = engine.newGradientCollector()) {
                y = Ops.resizeBilinear(x, outH, outW, alignCorners);
                c.backward(y.mul(probe).sum());
            }
            double[][] ah = bilinearRule(h, outH, alignCorners), aw = bilinearRule(w, outW, alignCorners);
            assertClose(separable(x.toFloatArray(), 6, h, w, ah, aw), y.toFloatArray());
            assertClose(separableTransposed(probe.toFloatArray(), 6, h, w, ah, aw), x.getGradient().toFloatArray());
        }
    }

    /** The FPN's top-down path (3×4 → 6×8 → 11×15 → 22×30) and nearest shrinking (22×30 → 11×15, 15 → 4). */
    @ParameterizedTest
    @CsvSource({"3,4,6,8", "6,8,11,15", "11,15,22,30", "22,30,11,15", "11,15,3,4", "3,4,7,7"})
    void nearestFollowsPyTorchsLegacyRuleForwardAndBackward(int h, int w, int outH, int outW) {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, 3, h, w));
            NDArray probe = m.randomNormal(new Shape(2, 3, outH, outW));
            x.setRequiresGradient(true);
            NDArray y;
            try (GradientCollector c = engine.newGradientCollector()) {
                y = Ops.resizeNearest(x, outH, outW);
                c.backward(y.mul(probe).sum());
            }
            double[][] ah = nearestRule(h, outH), aw = nearestRule(w, outW);
            assertClose(separable(x.toFloatArray(), 6, h, w, ah, aw), y.toFloatArray());
            assertClose(separableTransposed(probe.toFloatArray(), 6, h, w, ah, aw), x.getGradient().toFloatArray());
        }
    }

    /** 6 → 11 by hand: ⌊dst·6/11⌋ = 0 0 1 1 2 2 3 3 4 4 5. */
    @Test
    void nearestGivesTheHandWorkedIndices() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray row = m.create(new float[] {0, 1, 2, 3, 4, 5}, new Shape(1, 1, 1, 6));
            assertArrayEquals(new float[] {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5}, Ops.resizeNearest(row, 1, 11).toFloatArray());
        }
    }

    /** HCL's 4×4, 2×2, 1×1 of 11×15 and 3×4 maps, and PVTv2-Li's 7×7 pool of stage maps smaller and larger than 7. */
    @ParameterizedTest
    @CsvSource({"11,15,4,4", "11,15,2,2", "11,15,1,1", "3,4,2,2", "3,4,7,7", "11,15,7,7", "22,30,7,7"})
    void adaptiveAveragePoolingFollowsPyTorchsBinsForwardAndBackward(int h, int w, int outH, int outW) {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, 3, h, w));
            NDArray probe = m.randomNormal(new Shape(2, 3, outH, outW));
            x.setRequiresGradient(true);
            NDArray y;
            try (GradientCollector c = engine.newGradientCollector()) {
                y = Ops.adaptiveAvgPool(x, outH, outW);
                c.backward(y.mul(probe).sum());
            }
            double[][] ah = binRule(h, outH), aw = binRule(w, outW);
            assertClose(separable(x.toFloatArray(), 6, h, w, ah, aw), y.toFloatArray());
            assertClose(separableTransposed(probe.toFloatArray(), 6, h, w, ah, aw), x.getGradient().toFloatArray());
        }
    }

    /** 11 → 4 bins by hand: [0,3) [2,6) [5,9) [8,11). */
    @Test
    void adaptiveAveragePoolingGivesTheHandWorkedBins() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray row = m.arange(11f).reshape(1, 1, 1, 11);
            assertArrayEquals(new float[] {1f, 3.5f, 6.5f, 9f}, Ops.adaptiveAvgPool(row, 1, 4).toFloatArray(), 1e-6f);
        }
    }

    @Test
    void anEmptyTargetOrAMapThatIsNotNchwIsRefused() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray map = m.zeros(new Shape(1, 1, 3, 4));
            assertEquals("cannot resize 3x4 to 0x4", assertThrows(IllegalArgumentException.class, () -> Ops.resizeBilinear(map, 0, 4)).getMessage());
            assertThrows(IllegalArgumentException.class, () -> Ops.resizeNearest(map, 3, 0));
            assertThrows(IllegalArgumentException.class, () -> Ops.adaptiveAvgPool(map, 0, 1));
            assertEquals("resizing needs an NCHW map, not (3, 4)",
                    assertThrows(IllegalArgumentException.class, () -> Ops.resizeBilinear(m.zeros(new Shape(3, 4)), 6, 8)).getMessage());
        }
    }

    /** PyTorch's upsample_bilinear2d weights (float arithmetic, as libtorch) as an [out][in] matrix. */
    private static double[][] bilinearRule(int in, int out, boolean alignCorners) {
        double[][] a = new double[out][in];
        float scale = alignCorners ? (out > 1 ? (float) (in - 1) / (out - 1) : 0f) : (float) in / out;
        for (int d = 0; d < out; d++) {
            float src = alignCorners ? d * scale : (d + 0.5f) * scale - 0.5f;
            if (src < 0) src = 0;
            int i0 = Math.min((int) Math.floor(src), in - 1);
            int i1 = Math.min(i0 + 1, in - 1);
            double l = Math.min(1, Math.max(0, src - i0));
            a[d][i0] += 1 - l;
            a[d][i1] += l;
        }
        return a;
    }

    private static double[][] nearestRule(int in, int out) {
        double[][] a = new double[out][in];
        float scale = (float) in / out;
        for (int d = 0; d < out; d++) a[d][Math.min((int) Math.floor(d * scale), in - 1)] = 1;
        return a;
    }

    private static double[][] binRule(int in, int out) {
        double[][] a = new double[out][in];
        for (int i = 0; i < out; i++) {
            int start = (int) Math.floor((double) i * in / out), end = (int) Math.ceil((double) (i + 1) * in / out);
            for (int j = start; j < end; j++) a[i][j] = 1.0 / (end - start);
        }
        return a;
    }

    /** y[n][p][q] = Σ_ij ah[p][i]·aw[q][j]·x[n][i][j], in double. */
    private static float[] separable(float[] x, int planes, int h, int w, double[][] ah, double[][] aw) {
        int oh = ah.length, ow = aw.length;
        float[] y = new float[planes * oh * ow];
        for (int n = 0; n < planes; n++) {
            for (int p = 0; p < oh; p++) {
                for (int q = 0; q < ow; q++) {
                    double s = 0;
                    for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) s += ah[p][i] * aw[q][j] * x[(n * h + i) * w + j];
                    y[(n * oh + p) * ow + q] = (float) s;
                }
            }
        }
        return y;
    }

    /** The gradient of Σ y·g: g spread back with the same weights, g[n][p][q] → x[n][i][j]. */
    private static float[] separableTransposed(float[] g, int planes, int h, int w, double[][] ah, double[][] aw) {
        int oh = ah.length, ow = aw.length;
        double[] x = new double[planes * h * w];
        for (int n = 0; n < planes; n++) {
            for (int p = 0; p < oh; p++) {
                for (int q = 0; q < ow; q++) {
                    double v = g[(n * oh + p) * ow + q];
                    for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) x[(n * h + i) * w + j] += ah[p][i] * aw[q][j] * v;
                }
            }
        }
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) x[i];
        return out;
    }

    private static void assertClose(float[] expected, float[] got) {
        assertEquals(expected.length, got.length);
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected[i], got[i], 1e-5 + 1e-5 * Math.abs(expected[i]), "element " + i);
        }
    }
}
