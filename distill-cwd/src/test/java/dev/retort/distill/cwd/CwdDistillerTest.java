package dev.retort.distill.cwd;

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

/** CWD: logits and a connector-mapped stage map by hand, the gradient τ(p_s − p_t)/(N·C), a step on MiT-shaped taps, configuration. */
class CwdDistillerTest extends TinyPairTest {
    /**
     * Logits of N = 1, C = 2 channels over 2×1 positions, τ = 2: per channel, p = softmax over the two positions, KL
     * summed over positions and channels, divided by N·C = 2, times τ² = 4. Teacher channel 0 = (2 ln 3, 0) gives
     * p_t = (3/4, 1/4); channel 1 = (0, 0) gives (1/2, 1/2). Student channel 0 = (0, 0): (1/2, 1/2); channel 1 =
     * (0, 2 ln 3): (1/4, 3/4).
     */
    @Test
    void onLogitsTheLossAndItsGradientMatchAWorkedExample() {
        TapLayout t = RandomTaps.mit("t", 2, 1), s = RandomTaps.mit("s", 2, 1);
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new CwdDistiller().build(new DistillContext(t, s, Map.of("stages", "", "logits", "true", "temperature", "2"), m, 0));
            assertTrue(module.parameters().isEmpty(), "logits need no connector");
            float l3 = (float) (2 * Math.log(3));
            NDArray teacher = m.create(new float[] {l3, 0, 0, 0}, new Shape(1, 2, 2, 1));
            NDArray student = m.create(new float[] {0, 0, 0, l3}, new Shape(1, 2, 2, 1));
            student.setRequiresGradient(true);
            List<LossTerm> terms;
            try (GradientCollector c = engine.newGradientCollector()) {
                terms = module.forward(new DistillStep(new TapValues("t", Map.of(TapNames.LOGITS, teacher)), new TapValues("s", Map.of(TapNames.LOGITS, student)),
                        true, m, PortRefiner.NONE));
                c.backward(terms.get(0).value());
            }
            // KL((3/4,1/4) ‖ (1/2,1/2)) = 3/4 ln(3/2) + 1/4 ln(1/2); KL((1/2,1/2) ‖ (1/4,3/4)) = 1/2 ln 2 + 1/2 ln(2/3)
            double kl0 = 0.75 * Math.log(1.5) + 0.25 * Math.log(0.5), kl1 = 0.5 * Math.log(2) + 0.5 * Math.log(2.0 / 3);
            assertEquals("cwd.logits", terms.get(0).name());
            assertEquals(5.0, terms.get(0).weight(), "CWD's Cityscapes weight by default");
            assertEquals(4 * (kl0 + kl1) / 2, terms.get(0).value().getFloat(), 1e-6);
            // d/dz_s of τ²·KL/(N·C) = τ·(p_s − p_t)/(N·C) = (p_s − p_t)
            assertArrayEquals(new float[] {0.5f - 0.75f, 0.5f - 0.25f, 0.25f - 0.5f, 0.75f - 0.5f}, student.getGradient().toFloatArray(), 1e-6f);
        }
    }

    /**
     * A 1-channel stage map of 2×2 through the connector set to the identity: conv weight 1, BatchNorm in evaluation
     * mode with its initial statistics (× k = 1/√(1 + 1e-5)), then ReLU, so the student (1, −1, 2, 0) becomes
     * (k, 0, 2k, 0); against the teacher (0, 1, 2, 3) at τ = 1 over N·C = 1.
     */
    @Test
    void onAStageMapTheConnectorIsConvBatchNormReluThenTheChannelKl() {
        TapLayout t = RandomTaps.mit("t", 2, 1), s = RandomTaps.mit("s", 2, 1);
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new CwdDistiller().build(new DistillContext(t, s, Map.of("stages", "1", "weight", "0.5"), m, 0));
            assertEquals(List.of("connectors.1.0.weight", "connectors.1.1.weight", "connectors.1.1.bias", "connectors.1.1.running_mean",
                    "connectors.1.1.running_var"), List.copyOf(module.parameters().keySet()));
            module.parameters().get("connectors.1.0.weight").getArray().set(FloatBuffer.wrap(new float[] {1}));
            TapValues sv = new TapValues("s", Map.of(TapNames.features(1), m.create(new float[] {1, -1, 2, 0}, new Shape(1, 1, 2, 2))));
            TapValues tv = new TapValues("t", Map.of(TapNames.features(1), m.create(new float[] {0, 1, 2, 3}, new Shape(1, 1, 2, 2))));
            List<LossTerm> terms = module.forward(new DistillStep(tv, sv, false, m, PortRefiner.NONE));
            double k = 1 / Math.sqrt(1 + 1e-5);
            double[] ys = {k, 0, 2 * k, 0}, zt = {0, 1, 2, 3};
            double ns = 0, nt = 0;
            for (int i = 0; i < 4; i++) {
                ns += Math.exp(ys[i]);
                nt += Math.exp(zt[i]);
            }
            double kl = 0;
            for (int i = 0; i < 4; i++) kl += Math.exp(zt[i]) / nt * ((zt[i] - Math.log(nt)) - (ys[i] - Math.log(ns)));
            assertEquals(List.of("cwd.1"), terms.stream().map(LossTerm::name).toList());
            assertEquals(0.5, terms.get(0).weight());
            assertEquals(kl, terms.get(0).value().getFloat(), 1e-6);
            assertTrue(kl > 0.5, "a case that tests something: " + kl);
        }
    }

    @Test
    void aTrainingStepOnMitShapedTapsIsFiniteAndReachesTheConnectorsAndTheStudent() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new CwdDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of("stages", "3,4", "logits", "true", "temperature", "4"), m, 3));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64), student = RandomTaps.values(STUDENT, m, 2, 64, 64);
            for (String tap : List.of(TapNames.features(3), TapNames.features(4), TapNames.LOGITS)) student.get(tap).setRequiresGradient(true);
            List<LossTerm> terms;
            try (GradientCollector c = engine.newGradientCollector()) {
                terms = module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE));
                NDArray total = terms.get(0).value();
                for (LossTerm t : terms.subList(1, terms.size())) total = total.add(t.value());
                c.backward(total);
            }
            assertEquals(List.of("cwd.3", "cwd.4", "cwd.logits"), terms.stream().map(LossTerm::name).toList());
            for (LossTerm t : terms) assertTrue(Float.isFinite(t.value().getFloat()) && t.value().getFloat() > 0, t.name() + " " + t.value().getFloat());
            for (String key : List.of("connectors.3.0.weight", "connectors.3.1.weight", "connectors.4.0.weight", "connectors.4.1.bias")) {
                assertUsefulGradient(key, module.parameters().get(key).getArray().getGradient());
            }
            for (String tap : List.of(TapNames.features(3), TapNames.features(4), TapNames.LOGITS)) assertUsefulGradient(tap, student.get(tap).getGradient());
            module.close();
        }
    }

    @Test
    void theDefaultB2ToB0ModuleIsTheStageFourConnector() {
        TapLayout b2 = RandomTaps.mit("mit-b2", 20, 64, 128, 320, 512), b0 = RandomTaps.mit("mit-b0", 20, 32, 64, 160, 256);
        try (NDManager m = engine.newBaseManager(); DistillationModule d = new CwdDistiller().build(new DistillContext(b2, b0, Map.of(), m, 0))) {
            assertEquals(256 * 512 + 2 * 512, ModuleRoster.trainable(d));  // Conv2d(256 → 512, 1×1, no bias) + BN(512) = 132,096
        }
    }

    @Test
    void configurationIsCheckedAndOnlyStagesRebuild() {
        assertEquals("cwd: nothing to distill: no stages and logits = false",
                assertThrows(IllegalArgumentException.class, () -> new CwdDistiller().validate(Map.of("stages", ""))).getMessage());
        assertEquals("cwd: temperature must be a number > 0, got '0'",
                assertThrows(IllegalArgumentException.class, () -> new CwdDistiller().validate(Map.of("temperature", "0"))).getMessage());
        CwdDistiller d = new CwdDistiller();
        d.configure(Map.of("logitsWeight", "-1"));
        assertEquals("dev.retort.distill.cwd: logitsWeight must be a number >= 0.0, got '-1'", d.rejection().orElseThrow());
        try (NDManager m = engine.newBaseManager()) {
            TapLayout fewerClasses = RandomTaps.mit("tiny-s19", 4, 8, 16, 24, 32);
            var classes = assertThrows(IllegalArgumentException.class,
                    () -> new CwdDistiller().build(new DistillContext(TEACHER, fewerClasses, Map.of("logits", "true"), m, 0)));
            assertTrue(classes.getMessage().startsWith("cwd: logits: teacher tiny-t") && classes.getMessage().contains("tiny-s19"), classes.getMessage());
            DistillationModule module = new CwdDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of(), m, 0));
            // switching the logits on for logits that do not fit is refused, and changes nothing
            assertThrows(IllegalArgumentException.class, () -> module.reconfigure(new DistillContext(TEACHER, fewerClasses, Map.of("logits", "true"), m, 0)));
            Reconfiguration inPlace = module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("logits", "true", "temperature", "4", "weight", "2"), m, 0));
            assertTrue(inPlace.inPlace());
            assertEquals("logits false -> true, temperature 1.0 -> 4.0, weight 1.0 -> 2.0", inPlace.changes());
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 32, 32), student = RandomTaps.values(STUDENT, m, 2, 32, 32);
            assertEquals(List.of("cwd.4", "cwd.logits"), module.forward(new DistillStep(teacher, student, false, m, PortRefiner.NONE)).stream()
                    .map(LossTerm::name).toList());
            Reconfiguration rebuild = module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("stages", "3,4"), m, 0));
            assertFalse(rebuild.inPlace());
            assertEquals("stages 4 -> 3,4 changes the connectors", rebuild.changes());
        }
    }
}
