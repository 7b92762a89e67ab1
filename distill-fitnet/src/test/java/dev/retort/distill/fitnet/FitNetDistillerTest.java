package dev.retort.distill.fitnet;

import static dev.retort.testing.RetortAssertions.assertUsefulGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
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

/** FitNet: the hint MSE and its gradients by hand, with and without BatchNorm; a step on MiT-shaped taps; configuration. */
class FitNetDistillerTest extends TinyPairTest {
    /** One stage: a student of 2 channels, a teacher of 1. */
    static final TapLayout ONE_T = RandomTaps.mit("t", 3, 1), ONE_S = RandomTaps.mit("s", 3, 2);

    /** Student map 1×2×1×2: channel 0 = (1, 2), channel 1 = (3, −1); teacher map 1×1×1×2 = (−2, 3). */
    private static List<LossTerm> step(NDManager m, DistillationModule module, boolean training, NDArray student) {
        TapValues s = new TapValues("s", Map.of(TapNames.features(1), student));
        TapValues t = new TapValues("t", Map.of(TapNames.features(1), m.create(new float[] {-2, 3}, new Shape(1, 1, 1, 2))));
        return module.forward(new DistillStep(t, s, training, m, PortRefiner.NONE));
    }

    @Test
    void theHintLossAndItsGradientsMatchAWorkedExample() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new FitNetDistiller().build(new DistillContext(ONE_T, ONE_S, Map.of("stages", "1", "weight", "0.5"), m, 0));
            assertEquals(List.of("regressors.1.0.weight", "regressors.1.0.bias"), List.copyOf(module.parameters().keySet()));
            NDArray w = module.parameters().get("regressors.1.0.weight").getArray(), b = module.parameters().get("regressors.1.0.bias").getArray();
            w.set(FloatBuffer.wrap(new float[] {0.5f, -1f}));
            b.set(FloatBuffer.wrap(new float[] {0.25f}));
            NDArray student = m.create(new float[] {1, 2, 3, -1}, new Shape(1, 2, 1, 2));
            student.setRequiresGradient(true);
            List<LossTerm> terms;
            try (GradientCollector c = engine.newGradientCollector()) {
                terms = step(m, module, true, student);
                c.backward(terms.get(0).value());
            }
            // y = 0.5·(1, 2) − (3, −1) + 0.25 = (−2.25, 2.25); y − t = (−0.25, −0.75); MSE = (0.0625 + 0.5625)/2
            assertEquals("fitnet.1", terms.get(0).name());
            assertEquals(0.5, terms.get(0).weight());
            assertEquals(0.3125, terms.get(0).value().getFloat(), 1e-6);
            // dMSE/dy = (y − t) = (−0.25, −0.75) (2·diff / 2 pixels); dw0 = −0.25·1 − 0.75·2, dw1 = −0.25·3 − 0.75·(−1), db = −1
            assertArrayEquals(new float[] {-1.75f, 0f}, w.getGradient().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {-1f}, b.getGradient().toFloatArray(), 1e-6f);
            // d/dx_c = w_c·(y − t): channel 0 = 0.5·(−0.25, −0.75), channel 1 = −1·(−0.25, −0.75)
            assertArrayEquals(new float[] {-0.125f, -0.375f, 0.25f, 0.75f}, student.getGradient().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void withBatchNormTheRegressorOutputIsStandardisedOverTheBatch() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new FitNetDistiller().build(new DistillContext(ONE_T, ONE_S, Map.of("stages", "1", "batch_norm", "true"), m, 0));
            assertEquals(List.of("regressors.1.0.weight", "regressors.1.1.weight", "regressors.1.1.bias", "regressors.1.1.running_mean",
                    "regressors.1.1.running_var"), List.copyOf(module.parameters().keySet()), "no conv bias before BatchNorm");
            module.parameters().get("regressors.1.0.weight").getArray().set(FloatBuffer.wrap(new float[] {0.5f, -1f}));
            NDArray student = m.create(new float[] {1, 2, 3, -1}, new Shape(1, 2, 1, 2));
            // u = (−2.5, 2); training: mean −0.25, biased variance 2.25² → y = (−2.25, 2.25)/√(5.0625 + 1e-5) ≈ (−1, 1)
            double y = 2.25 / Math.sqrt(5.0625 + 1e-5);
            double expected = ((-y + 2) * (-y + 2) + (y - 3) * (y - 3)) / 2;  // ≈ (1 + 4)/2
            assertEquals(expected, step(m, module, true, student).get(0).value().getFloat(), 1e-5);
            // running mean after one step: 0.9·0 + 0.1·(−0.25); running variance: 0.9·1 + 0.1·(unbiased 10.125)
            assertArrayEquals(new float[] {-0.025f}, module.parameters().get("regressors.1.1.running_mean").getArray().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {1.9125f}, module.parameters().get("regressors.1.1.running_var").getArray().toFloatArray(), 1e-5f);
            // evaluation: the running statistics, u' = (u + 0.025)/√(1.9125 + 1e-5)
            double e0 = (-2.5 + 0.025) / Math.sqrt(1.9125 + 1e-5), e1 = (2 + 0.025) / Math.sqrt(1.9125 + 1e-5);
            assertEquals(((e0 + 2) * (e0 + 2) + (e1 - 3) * (e1 - 3)) / 2, step(m, module, false, student).get(0).value().getFloat(), 1e-5);
        }
    }

    @Test
    void aTrainingStepOnMitShapedTapsGivesOneFiniteTermPerStageAndGradientsToEveryRegressor() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new FitNetDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of("stages", "1,4", "batch_norm", "true"), m, 3));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64), student = RandomTaps.values(STUDENT, m, 2, 64, 64);
            for (int s : new int[] {1, 4}) student.get(TapNames.features(s)).setRequiresGradient(true);
            List<LossTerm> terms;
            try (GradientCollector c = engine.newGradientCollector()) {
                terms = module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE));
                c.backward(terms.get(0).value().add(terms.get(1).value()));
            }
            assertEquals(List.of("fitnet.1", "fitnet.4"), terms.stream().map(LossTerm::name).toList());
            for (LossTerm t : terms) assertTrue(Float.isFinite(t.value().getFloat()) && t.value().getFloat() > 0, t.name());
            for (String key : List.of("regressors.1.0.weight", "regressors.1.1.weight", "regressors.4.0.weight", "regressors.4.1.bias")) {
                assertUsefulGradient(key, module.parameters().get(key).getArray().getGradient());
            }
            for (int s : new int[] {1, 4}) assertUsefulGradient(TapNames.features(s), student.get(TapNames.features(s)).getGradient());
            module.close();
        }
    }

    @Test
    void b2ToB0ParameterCountsAreTheRegressorsCountedByHand() {
        TapLayout b2 = RandomTaps.mit("mit-b2", 20, 64, 128, 320, 512), b0 = RandomTaps.mit("mit-b0", 20, 32, 64, 160, 256);
        try (NDManager m = engine.newBaseManager()) {
            try (DistillationModule d = new FitNetDistiller().build(new DistillContext(b2, b0, Map.of(), m, 0))) {
                assertEquals(64 * 128 + 128, ModuleRoster.trainable(d));  // stage 2: 64 → 128 with bias = 8,320
            }
            try (DistillationModule all = new FitNetDistiller().build(new DistillContext(b2, b0, Map.of("stages", "1,2,3,4", "batch_norm", "true"), m, 0))) {
                // convs without bias 2,048 + 8,192 + 51,200 + 131,072 and BN γ, β 2·(64 + 128 + 320 + 512)
                assertEquals(194_560, ModuleRoster.trainable(all));
            }
        }
    }

    @Test
    void configurationIsCheckedWeightAppliesInPlaceAndStructuralKeysRebuild() {
        FitNetDistiller d = new FitNetDistiller();
        d.configure(Map.of("stages", "2,2"));
        assertEquals("dev.retort.distill.fitnet: stages must be a list of distinct stages, got '2,2'", d.rejection().orElseThrow());
        d.configure(Map.of("batchNorm", "yes"));
        assertEquals("dev.retort.distill.fitnet: batchNorm must be true or false, got 'yes'", d.rejection().orElseThrow());
        assertEquals("fitnet: no stages to distill", assertThrows(IllegalArgumentException.class, () -> new FitNetDistiller().validate(Map.of("stages", ""))).getMessage());
        var typo = assertThrows(IllegalArgumentException.class, () -> new FitNetDistiller().validate(Map.of("batchnorm", "true")));
        assertTrue(typo.getMessage().startsWith("fitnet: unknown key 'module.fitnet.batchnorm' (did you mean module.fitnet.batch_norm?)"), typo.getMessage());
        try (NDManager m = engine.newBaseManager()) {
            var five = assertThrows(IllegalArgumentException.class, () -> new FitNetDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of("stages", "5"), m, 0)));
            assertEquals("fitnet: stage 5 is not a stage of both student tiny-s (4 stages) and teacher tiny-t (4)", five.getMessage());
            DistillationModule module = new FitNetDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of(), m, 0));
            Reconfiguration weight = module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("weight", "3"), m, 0));
            assertTrue(weight.inPlace());
            assertEquals("weight 1.0 -> 3.0", weight.changes());
            Reconfiguration rebuild = module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("stages", "2,3", "batch_norm", "true"), m, 0));
            assertFalse(rebuild.inPlace());
            assertEquals("stages 2 -> 2,3, batch_norm false -> true changes the regressors", rebuild.changes());
        }
        FitNetDistiller off = new FitNetDistiller();
        off.configure(Map.of("enabled", "false", "weight", "2"));
        assertFalse(off.enabled());
        assertEquals("FitNets hints: 1×1 conv regressor + MSE, stages 2, weight 2.0", off.description());
    }
}
