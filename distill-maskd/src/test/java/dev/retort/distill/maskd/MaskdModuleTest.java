package dev.retort.distill.maskd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Labels;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.distill.Preparation;
import dev.retort.api.distill.PreparationStep;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.distill.support.RandomTaps;
import dev.retort.testing.EngineTest;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MaskdModuleTest extends EngineTest {
    static final TapLayout TEACHER = RandomTaps.mit("mit-b2", 20, 16, 32, 40, 64), STUDENT = RandomTaps.mit("mit-b0", 20, 8, 16, 20, 32);

    private static DistillationModule build(NDManager m, Map<String, ?> config) {
        return new MaskdDistiller().build(new DistillContext(TEACHER, STUDENT, config, m, 3));
    }

    private static double sumAbs(NDArray a) {
        double s = 0;
        for (float v : a.toFloatArray()) {
            assertTrue(Float.isFinite(v), "finite");
            s += Math.abs(v);
        }
        return s;
    }

    @Test
    void theDefaultModuleHasTheLogitTokensAndAPreparationFlag() {
        try (NDManager m = engine.newBaseManager(); DistillationModule module = build(m, Map.of())) {
            assertEquals(List.of("mask_token", "prepared"), List.copyOf(module.parameters().keySet()));
            assertEquals(new Shape(8, 20), module.parameters().get("mask_token").getArray().getShape());
            assertEquals(160, ModuleRoster.trainable(module), "8 tokens x 20 classes");
            assertFalse(module.parameters().get("prepared").requiresGradient());
        }
        try (NDManager m = engine.newBaseManager();
             DistillationModule module = build(m, Map.of("stages", "3,4", "weight_mask", "true", "feature_tokens", "6"))) {
            assertEquals(List.of("mask_token", "mask_modules.0.mask_token", "mask_modules.0.prob.0.weight", "mask_modules.0.prob.0.bias",
                    "mask_modules.0.prob.2.weight", "mask_modules.0.prob.2.bias", "align_modules.component_0.0.weight", "align_modules.component_0.0.bias",
                    "mask_modules.1.mask_token", "mask_modules.1.prob.0.weight", "mask_modules.1.prob.0.bias", "mask_modules.1.prob.2.weight",
                    "mask_modules.1.prob.2.bias", "align_modules.component_0.1.weight", "align_modules.component_0.1.bias", "prepared"),
                    List.copyOf(module.parameters().keySet()));
            assertEquals(new Shape(40, 20, 1, 1), module.parameters().get("align_modules.component_0.0.weight").getArray().getShape());
            long expected = 160 + (6 * 40 + 40 * 40 * 9 + 40 + 6 * 40 + 6 + 40 * 20 + 40) + (6 * 64 + 64 * 64 * 9 + 64 + 6 * 64 + 6 + 64 * 32 + 64);
            assertEquals(expected, ModuleRoster.trainable(module));
        }
    }

    /** The official segmentation loss written out with the B×T×C×H×W products, in double, on a 1×2×1×2 example. */
    @Test
    void theLogitLossEqualsTheReferenceFormulaComputedByHand() {
        try (NDManager m = engine.newBaseManager()) {
            TapLayout layout = new TapLayout("x", 0, List.of(new TapSpec("logits", 2, 4, TapKind.MAP)));
            DistillationModule module = new MaskdDistiller().build(new DistillContext(layout, layout, Map.of("tokens", "2"), m, 0));
            float[] tokens = {0.5f, -1f, 2f, 0.25f};    // R: 2 tokens × 2 classes
            float[] yt = {1f, -2f, 0.5f, 3f};          // teacher: class 0 at (p0, p1), class 1 at (p0, p1)
            float[] ys = {0f, 1f, -1f, 2f};
            module.parameters().get("mask_token").getArray().set(tokens);
            NDArray teacher = m.create(yt, new Shape(1, 2, 1, 2)), student = m.create(ys, new Shape(1, 2, 1, 2));
            List<LossTerm> terms = module.forward(new DistillStep(new TapValues("t", Map.of("logits", teacher)),
                    new TapValues("s", Map.of("logits", student)), true, m, PortRefiner.NONE));
            double[][] mask = new double[2][2];
            for (int k = 0; k < 2; k++) {
                for (int p = 0; p < 2; p++) {
                    double a = tokens[2 * k] * yt[p] + tokens[2 * k + 1] * yt[2 + p];
                    mask[k][p] = 1 / (1 + Math.exp(-a));
                }
            }
            double sum = 0;
            for (int k = 0; k < 2; k++) {
                double area = mask[k][0] + mask[k][1] + 1e-5;
                for (int c = 0; c < 2; c++) {
                    double l = 0;
                    for (int p = 0; p < 2; p++) {
                        double d = mask[k][p] * ys[2 * c + p] - mask[k][p] * yt[2 * c + p];
                        l += d * d;
                    }
                    sum += l / area;
                }
            }
            double expected = 0.5 * sum / 4;  // mean over b, k, c
            assertEquals(1, terms.size());
            assertEquals("maskd.logits", terms.get(0).name());
            assertEquals(expected, terms.get(0).value().getFloat(), 1e-6 * expected);
            assertTrue(expected > 0.1);
            // Dice of the same masks: pairs (0,1) and (1,0), each 2⟨M0,M1⟩/(‖M0‖²+‖M1‖²)
            double dot = mask[0][0] * mask[1][0] + mask[0][1] * mask[1][1];
            double n0 = mask[0][0] * mask[0][0] + mask[0][1] * mask[0][1], n1 = mask[1][0] * mask[1][0] + mask[1][1] * mask[1][1];
            NDArray masks = MaskdMath.masks(module.parameters().get("mask_token").getArray(), teacher);
            assertEquals(2 * dot / (n0 + n1), MaskdMath.dice(masks).getFloat(), 1e-6);
        }
    }

    @Test
    void aDistillationStepOnRandomTapsGivesTheStudentFiniteGradientsAndLeavesTheTokensAlone() {
        try (NDManager m = engine.newBaseManager();
             DistillationModule module = build(m, Map.of("stages", "1,3,4", "weight_mask", "true", "custom_mask", "true", "custom_mask_warmup", "2"))) {
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64), student = RandomTaps.values(STUDENT, m, 2, 64, 64);
            for (String tap : List.of("logits", "features.1", "features.3", "features.4")) student.get(tap).setRequiresGradient(true);
            for (long step : new long[] {0, 2}) {  // before and after the custom mask's warm-up
                List<LossTerm> terms;
                try (GradientCollector c = engine.newGradientCollector()) {
                    terms = module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE, (n, v) -> { },
                            new TrainingProgress(step, 10, 1, 1), null));
                    c.backward(Objective.total(null, terms));
                }
                assertEquals(List.of("maskd.logits", "maskd.s1", "maskd.s3", "maskd.s4"), terms.stream().map(LossTerm::name).toList());
                for (LossTerm t : terms) assertTrue(Float.isFinite(t.value().getFloat()) && t.value().getFloat() > 0, t.name());
                for (String tap : List.of("logits", "features.1", "features.3", "features.4")) {
                    assertTrue(sumAbs(student.get(tap).getGradient()) > 0, tap + " has a gradient");
                }
                assertTrue(sumAbs(module.parameters().get("align_modules.component_0.2.weight").getArray().getGradient()) > 0);
                for (Map.Entry<String, Parameter> p : module.parameters().entrySet()) {
                    if (p.getKey().startsWith("mask_") && p.getValue().requiresGradient()) {
                        assertEquals(0.0, sumAbs(p.getValue().getArray().getGradient()), p.getKey() + ": the distillation loss never trains the tokens");
                    }
                }
            }
        }
    }

    @Test
    void thePreparationTrainsTheTokensOnTheTeacherThenFreezesThemAndIsNotAskedAgain() {
        try (NDManager m = engine.newBaseManager(); DistillationModule module = build(m, Map.of("stages", "4", "weight_mask", "true", "prepare_steps", "7"))) {
            Preparation p = module.preparation().orElseThrow();
            assertEquals(7, p.steps());
            assertEquals(0.01, p.learningRate());
            assertEquals(1e-3, p.weightDecay());
            assertEquals(List.of("mask_token", "mask_modules.0.mask_token", "mask_modules.0.prob.0.weight", "mask_modules.0.prob.0.bias",
                    "mask_modules.0.prob.2.weight", "mask_modules.0.prob.2.bias"), List.copyOf(p.parameters().keySet()));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64);
            // labels at full resolution (4× the logits), with ignored pixels
            long[] values = new long[2 * 64 * 64];
            for (int i = 0; i < values.length; i++) values[i] = i % 7 == 0 ? 255 : i % 20;
            Labels labels = new Labels(m.create(values, new Shape(2, 64, 64)), 255, 19);
            NDArray loss;
            try (GradientCollector c = engine.newGradientCollector()) {
                loss = p.loss(new PreparationStep(teacher, labels, new TrainingProgress(0, 7, 1, 1), m));
                c.backward(loss);
            }
            assertTrue(Float.isFinite(loss.getFloat()) && loss.getFloat() > 0);
            for (Map.Entry<String, Parameter> e : p.parameters().entrySet()) {
                assertTrue(sumAbs(e.getValue().getArray().getGradient()) > 0, e.getKey() + " learns in the preparation");
            }
            long before = ModuleRoster.trainable(module);
            p.finish();
            for (Parameter q : p.parameters().values()) assertFalse(q.requiresGradient());
            assertEquals(before - p.parameters().values().stream().mapToLong(q -> q.getArray().size()).sum(), ModuleRoster.trainable(module));
            assertEquals(1f, module.parameters().get("prepared").getArray().getFloat());
            assertEquals(Optional.empty(), module.preparation());
            assertTrue(module.parameters().get("align_modules.component_0.0.weight").requiresGradient(), "the connector trains in distillation");
        }
    }

    @Test
    void aModuleWhosePreparedFlagWasLoadedIsNotPreparedAgainAndKeepsItsTokensFrozen() {
        try (NDManager m = engine.newBaseManager(); DistillationModule module = build(m, Map.of())) {
            module.parameters().get("prepared").getArray().set(new float[] {1f});  // as a checkpoint load sets it
            assertTrue(module.parameters().get("mask_token").requiresGradient());
            assertEquals(Optional.empty(), module.preparation());
            assertFalse(module.parameters().get("mask_token").requiresGradient());
            assertEquals(0, ModuleRoster.trainable(module));
        }
    }

    @Test
    void theCrossEntropyIgnoresTheIgnoreLabelAndResizesWithAlignedCorners() {
        try (NDManager m = engine.newBaseManager()) {
            // 1×2×1×2 logits resized to 1×3 with align_corners: the middle pixel is the mean of the two
            NDArray logits = m.create(new float[] {2f, 0f, 0f, 4f}, new Shape(1, 2, 1, 2));
            NDArray labels = m.create(new long[] {0, 1, 255}, new Shape(1, 1, 3));
            double p0 = -Math.log(Math.exp(2) / (Math.exp(2) + 1)), p1 = -Math.log(Math.exp(2) / (Math.exp(1) + Math.exp(2)));
            assertEquals((p0 + p1) / 2, MaskdMath.crossEntropy(logits, labels, 255).getFloat(), 1e-6);
            NDArray minusOne = m.create(new long[] {0, -1, -1}, new Shape(1, 1, 3));
            assertEquals(p0, MaskdMath.crossEntropy(logits, minusOne, -1).getFloat(), 1e-6);
        }
    }

    /**
     * Logits of an 88×120 input (22×30) against full-size labels: the official {@code SegCrossEntropyLoss} resizes with
     * align_corners = true (src = dst·(in − 1)/(out − 1)), worked out here per pixel; align_corners = false would give
     * another loss, so the test tells the two apart.
     */
    @Test
    void theCrossEntropyResizesWithAlignedCornersAtAnOddSize() {
        int b = 2, k = 3, h = 22, w = 30, outH = 88, outW = 120;
        try (NDManager m = engine.newBaseManager()) {
            java.util.SplittableRandom random = new java.util.SplittableRandom(3);  // fixed data: the test must not depend on the engine's draws
            float[] logitValues = new float[b * k * h * w];
            for (int i = 0; i < logitValues.length; i++) logitValues[i] = (float) random.nextGaussian();
            NDArray logits = m.create(logitValues, new Shape(b, k, h, w));
            long[] labelValues = new long[b * outH * outW];
            for (int i = 0; i < labelValues.length; i++) labelValues[i] = random.nextInt(10) == 0 ? 255 : random.nextInt(k);
            NDArray labels = m.create(labelValues, new Shape(b, outH, outW));
            float[] z = logits.toFloatArray();
            double aligned = handCrossEntropy(z, labelValues, b, k, h, w, outH, outW, true);
            double unaligned = handCrossEntropy(z, labelValues, b, k, h, w, outH, outW, false);
            assertEquals(aligned, MaskdMath.crossEntropy(logits, labels, 255).getFloat(), 1e-5 * Math.abs(aligned));
            // the two rules differ by far more than the bar above, so the check tells them apart
            assertTrue(Math.abs(aligned - unaligned) > 10 * 1e-5 * Math.abs(aligned), aligned + " vs " + unaligned);
        }
    }

    /** Mean over non-ignored pixels of −log softmax of the bilinearly resized logits, PyTorch's resize rule written out. */
    private static double handCrossEntropy(float[] z, long[] labels, int b, int k, int h, int w, int outH, int outW, boolean alignCorners) {
        double sum = 0;
        int count = 0;
        for (int n = 0; n < b; n++) {
            for (int y = 0; y < outH; y++) {
                double[] ry = source(y, h, outH, alignCorners);
                for (int x = 0; x < outW; x++) {
                    int label = (int) labels[(n * outH + y) * outW + x];
                    if (label == 255) continue;
                    double[] rx = source(x, w, outW, alignCorners);
                    double[] v = new double[k];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < k; c++) {
                        int base = (n * k + c) * h * w;
                        int y0 = (int) ry[0], y1 = (int) ry[1], x0 = (int) rx[0], x1 = (int) rx[1];
                        v[c] = (1 - ry[2]) * ((1 - rx[2]) * z[base + y0 * w + x0] + rx[2] * z[base + y0 * w + x1])
                                + ry[2] * ((1 - rx[2]) * z[base + y1 * w + x0] + rx[2] * z[base + y1 * w + x1]);
                        max = Math.max(max, v[c]);
                    }
                    double e = 0;
                    for (double vc : v) e += Math.exp(vc - max);
                    sum += -(v[label] - max - Math.log(e));
                    count++;
                }
            }
        }
        return sum / count;
    }

    /** {i0, i1, λ} of output index d over an axis of length in. */
    private static double[] source(int d, int in, int out, boolean alignCorners) {
        double src = alignCorners ? d * (double) (in - 1) / (out - 1) : Math.max(0, (d + 0.5) * in / out - 0.5);
        int i0 = Math.min((int) Math.floor(src), in - 1);
        return new double[] {i0, Math.min(i0 + 1, in - 1), src - i0};
    }

    @Test
    void configurationErrorsNameTheKeyAndOfferTheClosestOne() {
        MaskdDistiller d = new MaskdDistiller();
        var e = assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("tokenz", "4")));
        assertTrue(e.getMessage().startsWith("maskd: unknown key 'module.maskd.tokenz' (did you mean module.maskd.tokens?)"), e.getMessage());
        var steps = assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("prepare_step", "4")));
        assertTrue(steps.getMessage().contains("(did you mean module.maskd.prepare_steps?)"), steps.getMessage());
        var nothing = assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("logits", "false")));
        assertEquals("maskd: nothing to distil: logits = false and no stages; set logits = true or list stages", nothing.getMessage());
        var one = assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("tokens", "1")));
        assertTrue(one.getMessage().contains("tokens"), one.getMessage());
        var twice = assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("stages", "2,2")));
        assertEquals("maskd: stages must be a list of distinct stages, got '2,2'", twice.getMessage());
        d.validate(Map.of("stages", "5"));  // a stage number is checked against the networks when the module is built
        try (NDManager m = engine.newBaseManager()) {
            var five = assertThrows(IllegalArgumentException.class, () -> build(m, Map.of("stages", "5")));
            assertEquals("maskd: stages: teacher mit-b2 has 4 stages, so stage 5 does not exist", five.getMessage());
        }
        d.configure(Map.of("prepareSteps", "0", "service.pid", "dev.retort.distill.maskd"));
        assertTrue(d.rejection().orElseThrow().contains("prepareSteps"), d.rejection().orElseThrow());
    }

    @Test
    void lossWeightsApplyInPlaceAndTokenOrPreparationKeysAskForANewModule() {
        try (NDManager m = engine.newBaseManager(); DistillationModule module = build(m, Map.of())) {
            MaskdDistiller d = new MaskdDistiller();
            Reconfiguration w = module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("weight", "2", "custom_mask", "true"), m, 3));
            assertTrue(w.inPlace());
            assertEquals("weight 1.0 -> 2.0, custom_mask false -> true", w.changes());
            Reconfiguration t = module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("tokens", "4", "prepare_steps", "10"), m, 3));
            assertFalse(t.inPlace());
            assertEquals("tokens 8 -> 4, prepare_steps 2000 -> 10 changes the parameters or the prepared tokens (a new preparation)", t.changes());
            assertTrue(d.description().startsWith("masked distillation with receptive tokens on logits (8 tokens, weight 1.0)"), d.description());
        }
    }

    @Test
    void theMasksAreComputedWithoutFiveDimensionalTensorsAndMatchThem() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray ys = m.randomNormal(new Shape(2, 5, 3, 4)), yt = m.randomNormal(new Shape(2, 5, 3, 4)), tokens = m.randomNormal(new Shape(3, 5));
            NDArray masks = MaskdMath.masks(tokens, yt);
            NDArray maps = MaskdMath.asMaps(masks, yt);  // [B, T, H, W]
            // the reference's [B, T, C, H, W] products, summed over positions and channels
            NDArray five = ys.expandDims(1).mul(maps.expandDims(2)).sub(yt.expandDims(1).mul(maps.expandDims(2))).square().sum(new int[] {2, 3, 4});
            NDArray reference = five.div(maps.sum(new int[] {2, 3}));
            float[] expected = reference.toType(DataType.FLOAT32, false).toFloatArray(), actual = MaskdMath.maskedSquareError(ys, yt, masks, 0).toFloatArray();
            assertEquals(expected.length, actual.length);
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 1e-5 * Math.abs(expected[i]) + 1e-6);
        }
    }
}
