package dev.retort.distill.cskd;

import static dev.retort.testing.RetortAssertions.assertUsefulGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.distill.support.RandomTaps;
import dev.retort.nn.Scalars;
import dev.retort.testing.TinyPairTest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** CSKD on MiT-shaped taps: training through the roster and the objective, α from the progress, odd sizes by hand, configuration. */
class CskdDistillerTest extends TinyPairTest {
    @ParameterizedTest
    @ValueSource(strings = {"probe,hard", "probe,soft", "logits,hard", "logits,soft"})
    void aTinyTrainingThroughTheRosterLowersAFiniteLossWithGradients(String variantAndLoss) {
        String[] vl = variantAndLoss.split(",");
        try (NDManager m = engine.newBaseManager()) {
            ModuleRoster roster = ModuleRoster.build(List.of(new ModuleRoster.Request(new CskdDistiller(),
                    Map.of("variant", vl[0], "loss", vl[1], "progress", "step", "temperature", "2"))), TEACHER, STUDENT, m, 5);
            assertEquals(vl[0].equals("probe") ? List.of("modules.cskd.head_dist.weight", "modules.cskd.head_dist.bias") : List.of(),
                    new ArrayList<>(roster.parameters().keySet()));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 128), student = RandomTaps.values(STUDENT, m, 2, 64, 128);
            String input = vl[0].equals("probe") ? TapNames.features(4) : TapNames.LOGITS;
            List<NDArray> trained = new ArrayList<>();
            trained.add(student.get(input));
            roster.parameters().values().stream().filter(Parameter::requiresGradient).forEach(p -> trained.add(p.getArray()));
            trained.forEach(a -> a.setRequiresGradient(true));
            double first = 0, last = 0;
            int steps = 6;
            // the hard loss is a mean over positions, the soft one a sum over them per image
            double rate = vl[1].equals("hard") ? (vl[0].equals("probe") ? 0.5 : 50) : (vl[0].equals("probe") ? 0.01 : 0.5);
            for (int step = 0; step < steps; step++) {
                try (NDManager s = m.newSubManager()) {
                    Map<String, NDArray> probes = new HashMap<>();
                    Objective.Loss loss;
                    try (GradientCollector c = engine.newGradientCollector()) {
                        List<LossTerm> terms = roster.forward(teacher, student, true, s, probes::put, new TrainingProgress(step, steps, 1, 1), null);
                        assertEquals(List.of("cskd." + vl[1]), terms.stream().map(LossTerm::name).toList());
                        loss = Objective.compose(null, terms);
                        c.backward(loss.total());
                    }
                    assertEquals(1.0 - step / (double) steps, probes.get("cskd.alpha").getFloat(), 1e-6, "linear decay of the steps done");
                    double total = loss.values().get(Objective.TOTAL);
                    assertTrue(Double.isFinite(total) && total > 0, "loss " + total);
                    if (step == 0) first = total;
                    last = total;
                    for (NDArray a : trained) {
                        NDArray g = a.getGradient();
                        if (step == 0) assertUsefulGradient("gradient", g);
                        a.subi(Scalars.mul(g, rate));
                        g.set(new NDIndex("..."), 0f);
                    }
                }
            }
            assertTrue(last < first, "training lowers the loss: " + first + " -> " + last);
        }
    }

    @Test
    void alphaFollowsTheEpochsAsTheOfficialCodeOrTheStepsWithAFloor() {
        try (NDManager m = engine.newBaseManager()) {
            alphaFollowsTheEpochsAsTheOfficialCodeOrTheStepsWithAFloor(m);
        }
    }

    private static void alphaFollowsTheEpochsAsTheOfficialCodeOrTheStepsWithAFloor(NDManager m) {
        CskdDistiller d = new CskdDistiller();
        // the official x = e/E with a 0-based epoch e: epoch 151 of 300 (1-based) is x = 0.5
        TrainingProgress p = new TrainingProgress(4000, 6000, 151, 300);
        CskdDistiller.Options epoch = d.options(context(m, Map.of()));
        assertEquals(0.5, CskdModule.progress(epoch, p));
        assertEquals(0.5, epoch.alpha(CskdModule.progress(epoch, p)));
        CskdDistiller.Options step = d.options(context(m, Map.of("progress", "step", "decay", "x2")));
        assertEquals(2.0 / 3, CskdModule.progress(step, p), 1e-12);
        assertEquals(1.0 / 9, step.alpha(2.0 / 3), 1e-12);
        assertEquals(Math.cos(Math.PI / 4), d.options(context(m, Map.of("decay", "cos"))).alpha(0.5), 1e-12);
        assertEquals(0.3, d.options(context(m, Map.of("alpha_min", "0.3"))).alpha(0.9), 1e-12, "floored");
        assertEquals(1.0, d.options(context(m, Map.of("alpha_min", "1"))).alpha(0.9), "no fusion");
        // the first epoch of any run is x = 0: dense targets only
        assertEquals(1.0, epoch.alpha(CskdModule.progress(epoch, new TrainingProgress(0, 10, 1, 1))));
    }

    @Test
    void theTargetFusesTheDenseAndTheGlobalResponseAndTheLabelsAreItsArgmax() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new CskdDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of("variant", "logits"), m, 1));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 32, 32), student = RandomTaps.values(STUDENT, m, 2, 32, 32);
            Map<String, NDArray> probes = new HashMap<>();
            // epoch 3 of 4: x = 0.5
            module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE, probes::put, new TrainingProgress(0, 1, 3, 4), null));
            float[] t = teacher.get(TapNames.LOGITS).toFloatArray();  // 2×5×8×8
            float[] z = probes.get("cskd.target").toFloatArray();
            long[] labels = probes.get("cskd.labels").toLongArray();
            for (int b = 0; b < 2; b++) {
                double[] global = new double[5];
                for (int k = 0; k < 5; k++) for (int p = 0; p < 64; p++) global[k] += t[(b * 5 + k) * 64 + p] / 64;
                for (int p = 0; p < 64; p++) {
                    int best = 0;
                    for (int k = 0; k < 5; k++) {
                        int i = (b * 5 + k) * 64 + p;
                        assertEquals(0.5 * t[i] + 0.5 * global[k], z[i], 1e-5);
                        if (z[i] > z[(b * 5 + best) * 64 + p]) best = k;
                    }
                    assertEquals(best, labels[b * 64 + p]);
                }
            }
        }
    }

    @Test
    void theProbePoolsTheTeacherLogitsInCeilModeOnOddSizes() {
        // a 50×90 image: logits 13×23, stage 4 is 2×3; windows of 8, the last ones partial (5 rows, 7 columns)
        try (NDManager m = engine.newBaseManager()) {
            NDArray logits = m.randomNormal(new Shape(1, 3, 13, 23));
            float[] x = logits.toFloatArray();
            float[] pooled = CskdModule.ceilAveragePool(logits, 8).toFloatArray();
            assertEquals(3 * 2 * 3, pooled.length);
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 3; j++) {
                        double s = 0;
                        int n = 0;
                        for (int y = i * 8; y < Math.min(i * 8 + 8, 13); y++) {
                            for (int xx = j * 8; xx < Math.min(j * 8 + 8, 23); xx++, n++) s += x[(c * 13 + y) * 23 + xx];
                        }
                        assertEquals(s / n, pooled[(c * 2 + i) * 3 + j], 1e-5);
                    }
                }
            }
            TapLayout teacher = new TapLayout("t", 0, List.of(new TapSpec(TapNames.LOGITS, 3, 4, TapKind.MAP)));
            TapLayout student = new TapLayout("s", 4, List.of(new TapSpec(TapNames.features(4), 6, 32, TapKind.MAP)));
            DistillationModule module = new CskdDistiller().build(new DistillContext(teacher, student, Map.of(), m, 1));
            Map<String, NDArray> probes = new HashMap<>();
            NDArray map = m.randomNormal(new Shape(1, 6, 2, 3));
            module.forward(new DistillStep(new TapValues("t", Map.of(TapNames.LOGITS, logits)), new TapValues("s", Map.of(TapNames.features(4), map)), true, m,
                    PortRefiner.NONE, probes::put));
            assertArrayEquals(pooled, probes.get("cskd.teacher.dense").toFloatArray());
            assertEquals(new Shape(1, 6, 3), probes.get("cskd.student.dense_logits").getShape(), "6 tokens of 3 classes");
            // the global response is the mean of the pooled map, not of the logits
            float[] global = probes.get("cskd.teacher.global").toFloatArray();
            double mean0 = 0;
            for (int p = 0; p < 6; p++) mean0 += pooled[p] / 6;
            assertEquals(mean0, global[0], 1e-5);
            NDArray wrong = m.randomNormal(new Shape(1, 6, 3, 3));
            var e = assertThrows(IllegalArgumentException.class, () -> module.forward(new DistillStep(new TapValues("t", Map.of(TapNames.LOGITS, logits)),
                    new TapValues("s", Map.of(TapNames.features(4), wrong)), true, m, PortRefiner.NONE)));
            assertEquals("cskd: the teacher logits (1, 3, 13, 23) pooled by 8 give a 2x3 grid, the student's stage 4 map is 3x3", e.getMessage());
        }
    }

    @Test
    void badKeysAndValuesAreRejectedWithTheKeyNamed() {
        CskdDistiller d = new CskdDistiller();
        assertEquals("cskd: unknown key 'module.cskd.alpha_mn' (did you mean module.cskd.alpha_min?); known keys: module.cskd.alpha_min, module.cskd.decay,"
                + " module.cskd.loss, module.cskd.progress, module.cskd.stage, module.cskd.temperature, module.cskd.variant, module.cskd.weight",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("alpha_mn", "0.5"))).getMessage());
        assertEquals("cskd: decay must be one of linear, x2, cos, got 'cosine'",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("decay", "cosine"))).getMessage());
        assertEquals("cskd: variant must be one of probe, logits, got 's4'",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("variant", "s4"))).getMessage());
        assertEquals("cskd: alpha_min must be a number in [0.0, 1.0], got '1.5'",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("alpha_min", "1.5"))).getMessage());
        assertEquals("cskd: temperature must be a number > 0, got '0'",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("temperature", "0"))).getMessage());
        d.validate(Map.of("variant", "logits", "loss", "soft", "progress", "step"));
        d.configure(Map.of("progress", "iteration"));
        assertEquals("dev.retort.distill.cskd: progress must be one of epoch, step, got 'iteration'", d.rejection().orElseThrow());
        d.configure(Map.of("loss", "soft", "temperature", "2", "alphaMin", "0.5"));
        assertEquals("cumulative spatial KD: stage-4 probe, linear decay floored at 0.5 per epoch, soft (τ 2.0), weight 1.0", d.description());
    }

    @Test
    void scheduleAndLossApplyInPlaceWhileTheVariantAndTheProbeStageRebuild() {
        try (NDManager m = engine.newBaseManager()) {
            CskdDistiller d = new CskdDistiller();
            DistillationModule module = d.build(context(m, Map.of()));
            Reconfiguration r = module.reconfigure(context(m, Map.of("decay", "cos", "weight", "0.5")));
            assertTrue(r.inPlace());
            assertEquals("decay linear -> cos, weight 1.0 -> 0.5", r.changes());
            assertEquals("", module.reconfigure(context(m, Map.of("decay", "cos", "weight", "0.5"))).changes());
            Reconfiguration v = module.reconfigure(context(m, Map.of("variant", "logits")));
            assertFalse(v.inPlace());
            assertEquals("variant probe -> logits changes the parameter set", v.changes());
            assertEquals("stage 4 -> 3 changes the probe head's input", module.reconfigure(context(m, Map.of("stage", "3"))).changes());
        }
    }

    private static DistillContext context(NDManager m, Map<String, ?> config) {
        return new DistillContext(TEACHER, STUDENT, config, m, 1);
    }
}
