package dev.retort.distill.support;

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

/** Each loss against values computed by hand (in doubles) from the same small inputs. */
class LossesTest {
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void mseIsTheMeanOfTheSquaredDifferences() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray a = m.create(new float[] {1, 2, 3}), b = m.create(new float[] {1, 0, 0});
            assertEquals(13.0 / 3, Losses.mse(a, b).getFloat(), 1e-6);
        }
    }

    /** B=1, K=2, H=1, W=2: pixel 0 = (z_0, z_2), pixel 1 = (z_1, z_3). */
    private static final float[] TEACHER = {1f, 2f, 0.5f, -1f};
    private static final float[] STUDENT = {0f, 1f, 0f, 1f};

    @Test
    void klDivergenceIsTauSquaredTimesThePixelMeanOfTheClassKl() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray teacher = m.create(TEACHER, new Shape(1, 2, 1, 2));
            NDArray student = m.create(STUDENT, new Shape(1, 2, 1, 2));
            student.setRequiresGradient(true);
            double tau = 2;
            NDArray loss;
            try (GradientCollector c = engine.newGradientCollector()) {
                loss = Losses.klDivergence(student, teacher, tau);
                c.backward(loss);
            }
            double expected = 0;
            double[] gradient = new double[4];
            for (int px = 0; px < 2; px++) {
                double[] pt = softmax(TEACHER[px] / tau, TEACHER[2 + px] / tau);
                double[] ps = softmax(STUDENT[px] / tau, STUDENT[2 + px] / tau);
                for (int k = 0; k < 2; k++) {
                    expected += pt[k] * Math.log(pt[k] / ps[k]);
                    gradient[2 * k + px] = tau * (ps[k] - pt[k]) / 2;  // d/dz_s of τ²·mean KL: τ·(p_s − p_t)/pixels
                }
            }
            assertEquals(expected / 2 * tau * tau, loss.getFloat(), 1e-6);
            assertArrayEquals(toFloat(gradient), student.getGradient().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void channelWiseDivergenceTakesEachChannelAsADistributionOverPositions() {
        // N=1, C=2, H=1, W=3: channel c holds positions 3c..3c+2
        float[] teacher = {1f, 3f, 0f, 0f, 0f, 2f};
        float[] student = {0f, 0f, 1f, 2f, -1f, 0.5f};
        try (NDManager m = engine.newBaseManager()) {
            double tau = 4;
            NDArray loss = Losses.channelWiseDivergence(m.create(student, new Shape(1, 2, 1, 3)), m.create(teacher, new Shape(1, 2, 1, 3)), tau);
            double sum = 0;
            for (int c = 0; c < 2; c++) {
                double[] pt = softmax(teacher[3 * c] / tau, teacher[3 * c + 1] / tau, teacher[3 * c + 2] / tau);
                double[] ps = softmax(student[3 * c] / tau, student[3 * c + 1] / tau, student[3 * c + 2] / tau);
                for (int i = 0; i < 3; i++) sum += pt[i] * Math.log(pt[i] / ps[i]);
            }
            assertEquals(tau * tau * sum / 2, loss.getFloat(), 1e-5);  // normalised by N·C = 2 (float32: ~1e-6 relative)
            // two samples of the same maps: the same loss (normalised by N·C)
            NDArray two = m.create(student, new Shape(1, 2, 1, 3)).repeat(0, 2);
            NDArray twoTeacher = m.create(teacher, new Shape(1, 2, 1, 3)).repeat(0, 2);
            assertEquals(loss.getFloat(), Losses.channelWiseDivergence(two, twoTeacher, tau).getFloat(), 1e-6);
        }
    }

    @Test
    void hclOfACountingMapAgainstZerosByHand() {
        try (NDManager m = engine.newBaseManager()) {
            float[] v = new float[16];
            for (int i = 0; i < 16; i++) v[i] = i;  // a 4×4 map 0..15, row-major
            NDArray s = m.create(v, new Shape(1, 1, 4, 4)), t = m.zeros(new Shape(1, 1, 4, 4));
            // full: Σk²/16 = 1240/16 = 77.5; 2×2 block means 2.5, 4.5, 10.5, 12.5 → (6.25+20.25+110.25+156.25)/4 = 73.25;
            // 1×1 mean 7.5 → 56.25; level 4 is not below the height 4: (77.5 + 73.25/2 + 56.25/4) / (1 + 1/2 + 1/4) = 73.25
            assertEquals(73.25, Losses.hcl(s, t).getFloat(), 1e-4);
            // a 2-high map uses the 1×1 level alone, at weight 1/2: [[1,2],[3,6]] vs 0 → (50/4 + 3²/2) / 1.5 = 11.333…
            NDArray s2 = m.create(new float[] {1, 2, 3, 6}, new Shape(1, 1, 2, 2));
            assertEquals((12.5 + 9.0 / 2) / 1.5, Losses.hcl(s2, m.zeros(new Shape(1, 1, 2, 2))).getFloat(), 1e-5);
        }
    }

    @Test
    void hclIsTheMseWithHalvingWeightsOverThePooledLevels() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray s = m.randomNormal(new Shape(1, 2, 4, 4)), t = m.randomNormal(new Shape(1, 2, 4, 4));
            // height 4: level 4 is skipped, levels 2 and 1 weigh 1/2 and 1/4
            double full = Losses.mse(s, t).getFloat();
            double two = mseOfMeans(s.toFloatArray(), t.toFloatArray(), 2), one = mseOfMeans(s.toFloatArray(), t.toFloatArray(), 1);
            assertEquals((full + two / 2 + one / 4) / 1.75, Losses.hcl(s, t).getFloat(), 1e-5);
        }
    }

    /**
     * The stage maps of an 88×120 input (22×30, 11×15, 6×8, 3×4) and of 44×60's last stage (2×2): PyTorch's adaptive
     * bins [⌊i·n/l⌋, ⌈(i+1)·n/l⌉) overlap on odd sides, the l×l square ignores the aspect, and a level is skipped when
     * it is not below the map's height (the official {@code if l >= h: continue}), whatever the width: portrait maps
     * (30×22, 4×3) and a 5×3 map, whose 4×4 level exists although the width is 3 (bins of one and two columns).
     */
    @ParameterizedTest
    @CsvSource({"22,30", "11,15", "6,8", "3,4", "2,2", "30,22", "4,3", "5,3"})
    void hclOnOddMapsUsesPyTorchsBinsAndTheHeightRule(int h, int w) {
        try (NDManager m = engine.newBaseManager()) {
            NDArray s = m.randomNormal(new Shape(2, 3, h, w)), t = m.randomNormal(new Shape(2, 3, h, w));
            float[] a = s.toFloatArray(), b = t.toFloatArray();
            double loss = mseOfBins(a, b, 6, h, w, h, w), weight = 1, total = 1;
            for (int level : new int[] {4, 2, 1}) {
                if (level >= h) continue;
                weight /= 2;
                loss += weight * mseOfBins(a, b, 6, h, w, level, level);
                total += weight;
            }
            assertEquals(loss / total, Losses.hcl(s, t).getFloat(), 1e-5 * loss / total);
        }
    }

    /** MSE between the adaptive-average-pooled ({@code outH × outW}, PyTorch's bins) versions of two maps. */
    private static double mseOfBins(float[] a, float[] b, int planes, int h, int w, int outH, int outW) {
        double sum = 0;
        for (int p = 0; p < planes; p++) {
            for (int i = 0; i < outH; i++) {
                int y0 = Math.floorDiv(i * h, outH), y1 = -Math.floorDiv(-(i + 1) * h, outH);
                for (int j = 0; j < outW; j++) {
                    int x0 = Math.floorDiv(j * w, outW), x1 = -Math.floorDiv(-(j + 1) * w, outW);
                    double diff = 0;
                    for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) diff += a[(p * h + y) * w + x] - b[(p * h + y) * w + x];
                    diff /= (y1 - y0) * (x1 - x0);
                    sum += diff * diff;
                }
            }
        }
        return sum / (planes * outH * outW);
    }

    /** A 1×3 map against a 2×3 one would broadcast in the arithmetic; each loss that compares maps refuses it instead. */
    @Test
    void mapsOfDifferentSizesAreRefusedNotBroadcast() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray s = m.zeros(new Shape(1, 2, 1, 3)), t = m.ones(new Shape(1, 2, 2, 3));
            String tail = " differ in shape, (1, 2, 1, 3) and (1, 2, 2, 3); the student's and the teacher's maps must have the same size";
            assertEquals("mse: the compared arrays" + tail, assertThrows(IllegalArgumentException.class, () -> Losses.mse(s, t)).getMessage());
            assertEquals("mse: the compared arrays" + tail, assertThrows(IllegalArgumentException.class, () -> Losses.hcl(s, t)).getMessage());
            assertEquals("kl divergence: the compared arrays" + tail,
                    assertThrows(IllegalArgumentException.class, () -> Losses.klDivergence(s, t, 1)).getMessage());
            assertEquals("channel-wise divergence: the compared arrays" + tail,
                    assertThrows(IllegalArgumentException.class, () -> Losses.channelWiseDivergence(s, t, 1)).getMessage());
        }
    }

    /** MSE between the means of level×level blocks of two [1, 2, 4, 4] maps. */
    private static double mseOfMeans(float[] a, float[] b, int level) {
        int block = 4 / level;
        double sum = 0;
        for (int c = 0; c < 2; c++) {
            for (int i = 0; i < level; i++) {
                for (int j = 0; j < level; j++) {
                    double ma = 0, mb = 0;
                    for (int y = i * block; y < (i + 1) * block; y++) {
                        for (int x = j * block; x < (j + 1) * block; x++) {
                            ma += a[c * 16 + y * 4 + x];
                            mb += b[c * 16 + y * 4 + x];
                        }
                    }
                    double diff = (ma - mb) / (block * block);
                    sum += diff * diff;
                }
            }
        }
        return sum / (2 * level * level);
    }

    @Test
    void aTemperatureThatIsNotPositiveIsRefused() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = m.create(TEACHER, new Shape(1, 2, 1, 2));
            var e = assertThrows(IllegalArgumentException.class, () -> Losses.klDivergence(x, x, 0));
            assertEquals("temperature must be a finite number > 0, got 0.0", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Losses.channelWiseDivergence(x, x, Double.NaN));
        }
    }

    @Test
    void weightedCrossEntropyIsTheWeightedMeanAndIgnoresWeightZero() {
        try (NDManager m = engine.newBaseManager()) {
            // two pixels, two classes; pixel 1 has the ignored class 1 (weight 0)
            NDArray logits = m.create(new float[] {2f, 0f, 0f, 1f}, new Shape(1, 2, 1, 2));
            NDArray labels = m.create(new long[] {0, 1}, new Shape(1, 1, 2));
            NDArray weights = m.create(new float[] {3f, 0f});
            double nll0 = -Math.log(Math.exp(2) / (Math.exp(2) + 1));
            assertEquals(nll0, Losses.weightedCrossEntropy(logits, labels, weights).getFloat(), 1e-6);
        }
    }

    @Test
    void weightedCrossEntropyLeavesOutTheIgnoreLabelOutsideTheClasses() {
        try (NDManager m = engine.newBaseManager()) {
            // class 0 over the pixels: 2, 0, 0; class 1: 1, 1, 0 — so pixels (2,1), (0,1), (0,0)
            NDArray logits = m.create(new float[] {2f, 0f, 0f, 1f, 1f, 0f}, new Shape(1, 2, 1, 3));
            NDArray labels = m.create(new long[] {0, 255, 1}, new Shape(1, 1, 3));
            NDArray weights = m.create(new float[] {1f, 2f});
            double nll0 = -Math.log(Math.exp(2) / (Math.exp(2) + Math.exp(1)));
            double nll2 = Math.log(2);  // class 1 of (0, 0)
            assertEquals((1 * nll0 + 2 * nll2) / 3, Losses.weightedCrossEntropy(logits, labels, weights, 255).getFloat(), 1e-6);
        }
    }

    @Test
    void weightedCrossEntropyOfABatchWithoutLabelledPixelsIsZeroWithZeroGradient() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray logits = m.create(new float[] {2f, 0f, 0f, 1f}, new Shape(1, 2, 1, 2));
            logits.setRequiresGradient(true);
            NDArray ignored = m.create(new long[] {1, 1}, new Shape(1, 1, 2));  // only the weight-0 class
            NDArray weights = m.create(new float[] {3f, 0f});
            try (GradientCollector c = engine.newGradientCollector()) {
                NDArray loss = Losses.weightedCrossEntropy(logits, ignored, weights);
                assertEquals(0f, loss.getFloat());
                c.backward(loss);
            }
            assertArrayEquals(new float[4], logits.getGradient().toFloatArray());
            NDArray outside = m.create(new long[] {255, 255}, new Shape(1, 1, 2));  // only the ignore label outside the classes
            assertEquals(0f, Losses.weightedCrossEntropy(logits, outside, weights, 255).getFloat());
        }
    }

    static double[] softmax(double... z) {
        double sum = 0;
        double[] e = new double[z.length];
        for (int i = 0; i < z.length; i++) sum += e[i] = Math.exp(z[i]);
        for (int i = 0; i < z.length; i++) e[i] /= sum;
        return e;
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
