package dev.retort.distill.reviewkd;

import static dev.retort.testing.RetortAssertions.assertUsefulGradient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.RandomTaps;
import dev.retort.testing.TinyPairTest;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** ReviewKD: ABF + HCL by hand on a two-stage, one-channel case; a step on MiT-shaped taps; configuration. */
class ReviewKdDistillerTest extends TinyPairTest {
    private static void set(DistillationModule module, String key, float... values) {
        module.parameters().get(key).getArray().set(FloatBuffer.wrap(values));
    }

    /**
     * Two stages of one channel each, mid 1; every convolution is the identity (1×1 weight 1; 3×3 with only its centre
     * 1), BatchNorm in evaluation mode with its initial statistics multiplies by k = 1/√(1 + 1e-5). Stage 2 is 1×1,
     * stage 1 is 2×2.
     */
    @Test
    void abfAndHclMatchTheFormulaWorkedByHand() {
        TapLayout teacher = RandomTaps.mit("t", 3, 1, 1), student = RandomTaps.mit("s", 3, 1, 1);
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new ReviewKdDistiller().build(new DistillContext(teacher, student, Map.of("mid_channels", "1", "weight", "0.5"), m, 0));
            assertEquals(List.of("abfs.0.conv1.0.weight", "abfs.0.conv1.1.weight", "abfs.0.conv1.1.bias", "abfs.0.conv1.1.running_mean",
                    "abfs.0.conv1.1.running_var", "abfs.0.conv2.0.weight", "abfs.0.conv2.1.weight", "abfs.0.conv2.1.bias", "abfs.0.conv2.1.running_mean",
                    "abfs.0.conv2.1.running_var", "abfs.1.conv1.0.weight", "abfs.1.conv1.1.weight", "abfs.1.conv1.1.bias", "abfs.1.conv1.1.running_mean",
                    "abfs.1.conv1.1.running_var", "abfs.1.conv2.0.weight", "abfs.1.conv2.1.weight", "abfs.1.conv2.1.bias", "abfs.1.conv2.1.running_mean",
                    "abfs.1.conv2.1.running_var", "abfs.1.att_conv.0.weight", "abfs.1.att_conv.0.bias"), List.copyOf(module.parameters().keySet()),
                    "the deepest cell (abfs.0) has no attention");
            for (String cell : List.of("abfs.0.", "abfs.1.")) {
                set(module, cell + "conv1.0.weight", 1);
                set(module, cell + "conv2.0.weight", 0, 0, 0, 0, 1, 0, 0, 0, 0);
            }
            double a0 = 0.5, b0 = -0.25, c0 = 0.1, a1 = -0.5, b1 = 0.2, c1 = 0;
            set(module, "abfs.1.att_conv.0.weight", (float) a0, (float) b0, (float) a1, (float) b1);  // [2 out, 2 in]: (x, r) per output
            set(module, "abfs.1.att_conv.0.bias", (float) c0, (float) c1);

            float[] s1 = {1, 2, 3, 4}, t1 = {0, 1, 2, 3};
            TapValues s = new TapValues("s", Map.of(TapNames.features(1), m.create(s1, new Shape(1, 1, 2, 2)), TapNames.features(2),
                    m.create(new float[] {5}, new Shape(1, 1, 1, 1))));
            TapValues t = new TapValues("t", Map.of(TapNames.features(1), m.create(t1, new Shape(1, 1, 2, 2)), TapNames.features(2),
                    m.create(new float[] {1}, new Shape(1, 1, 1, 1))));
            List<LossTerm> terms = module.forward(new DistillStep(t, s, false, m, PortRefiner.NONE));

            double k = 1 / Math.sqrt(1 + 1e-5);
            double x2 = 5 * k, y2 = x2 * k;  // deepest cell: no fusion
            double hcl2 = (y2 - 1) * (y2 - 1);  // a 1×1 map: the MSE alone
            double r = x2;  // nearest upsampling of a 1×1 map: the same value everywhere
            double[] y1 = new double[4];
            double mse = 0, meanY = 0, meanT = 0;
            for (int i = 0; i < 4; i++) {
                double x = s1[i] * k;
                double z0 = sigmoid(a0 * x + b0 * r + c0), z1 = sigmoid(a1 * x + b1 * r + c1);
                y1[i] = (x * z0 + r * z1) * k;
                mse += (y1[i] - t1[i]) * (y1[i] - t1[i]) / 4;
                meanY += y1[i] / 4;
                meanT += t1[i] / 4;
            }
            double hcl1 = (mse + (meanY - meanT) * (meanY - meanT) / 2) / 1.5;  // a 2-high map: only the 1×1 level, weight 1/2
            assertEquals(1, terms.size());
            assertEquals("reviewkd.hcl", terms.get(0).name());
            assertEquals(0.5, terms.get(0).weight());
            assertEquals(hcl1 + hcl2, terms.get(0).value().getFloat(), 1e-5);
            assertTrue(hcl1 > 0.1 && hcl2 > 1, "a case that tests something: " + hcl1 + ", " + hcl2);
        }
    }

    @Test
    void aTrainingStepOnMitShapedTapsIsFiniteAndReachesEveryCellAndStudentMap() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new ReviewKdDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of("mid_channels", "16"), m, 3));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64), student = RandomTaps.values(STUDENT, m, 2, 64, 64);
            for (int s = 1; s <= 4; s++) student.get(TapNames.features(s)).setRequiresGradient(true);
            float[] runningMean = module.parameters().get("abfs.2.conv1.1.running_mean").getArray().toFloatArray();
            List<LossTerm> terms;
            try (GradientCollector c = engine.newGradientCollector()) {
                terms = module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE));
                c.backward(terms.get(0).value());
            }
            float loss = terms.get(0).value().getFloat();
            assertTrue(Float.isFinite(loss) && loss > 0, "hcl " + loss);
            for (String key : List.of("abfs.0.conv1.0.weight", "abfs.0.conv2.0.weight", "abfs.1.att_conv.0.weight", "abfs.3.att_conv.0.bias",
                    "abfs.3.conv2.1.weight")) {
                assertUsefulGradient(key, module.parameters().get(key).getArray().getGradient());
            }
            for (int s = 1; s <= 4; s++) assertUsefulGradient(TapNames.features(s), student.get(TapNames.features(s)).getGradient());
            assertFalse(java.util.Arrays.equals(runningMean, module.parameters().get("abfs.2.conv1.1.running_mean").getArray().toFloatArray()),
                    "training mode updates the running statistics");
            module.close();
        }
    }

    /** Trainable parameters for MiT-B2 → MiT-B0 widths (32,64,160,256 → 64,128,320,512), mid 64, counted by hand. */
    @Test
    void theB2ToB0ModuleHasTheParametersCountedByHand() {
        TapLayout b2 = RandomTaps.mit("mit-b2", 20, 64, 128, 320, 512), b0 = RandomTaps.mit("mit-b0", 20, 32, 64, 160, 256);
        try (NDManager m = engine.newBaseManager(); DistillationModule module = new ReviewKdDistiller().build(new DistillContext(b2, b0, Map.of(), m, 0))) {
            // per cell: conv1 C_s·64 + BN 2·64; conv2 64·9·C_t + BN 2·C_t; attention (stages 1-3) 2·128 + 2
            long expected = 0;
            int[] cs = {32, 64, 160, 256}, ct = {64, 128, 320, 512};
            for (int s = 0; s < 4; s++) expected += cs[s] * 64 + 128 + 64 * 9 * ct[s] + 2 * ct[s] + (s < 3 ? 258 : 0);
            assertEquals(625_926, expected);
            assertEquals(expected, ModuleRoster.trainable(module));
        }
    }

    @Test
    void configurationIsCheckedWeightAppliesInPlaceAndMidChannelsRebuilds() {
        ReviewKdDistiller d = new ReviewKdDistiller();
        d.configure(Map.of("midChannels", "abc"));
        assertEquals("dev.retort.distill.reviewkd: midChannels must be an integer, got 'abc'", d.rejection().orElseThrow());
        var typo = assertThrows(IllegalArgumentException.class, () -> new ReviewKdDistiller().validate(Map.of("wieght", "1")));
        assertEquals("reviewkd: unknown key 'module.reviewkd.wieght' (did you mean module.reviewkd.weight?); known keys: module.reviewkd.mid_channels,"
                + " module.reviewkd.weight", typo.getMessage());
        d.configure(Map.of("enabled", "false"));
        assertFalse(d.enabled());
        try (NDManager m = engine.newBaseManager()) {
            var twoStages = assertThrows(IllegalArgumentException.class, () -> new ReviewKdDistiller()
                    .build(new DistillContext(RandomTaps.mit("t", 5, 16, 32), STUDENT, Map.of(), m, 0)));
            assertEquals("reviewkd: student tiny-s has 4 stages, teacher t has 2; reviewkd pairs them stage by stage", twoStages.getMessage());
            DistillationModule module = new ReviewKdDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of(), m, 0));
            Reconfiguration same = module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("weight", "2"), m, 0));
            assertTrue(same.inPlace());
            assertEquals("weight 1.0 -> 2.0", same.changes());
            Reconfiguration rebuild = module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("mid_channels", "32"), m, 0));
            assertFalse(rebuild.inPlace());
            assertEquals("mid_channels 64 -> 32 changes the parameter shapes", rebuild.changes());
        }
    }

    private static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }
}
