package dev.retort.distill.csf;

import static dev.retort.testing.RetortAssertions.assertUsefulGradient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.RandomTaps;
import dev.retort.testing.TinyPairTest;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** CSF on small MiT-shaped taps: build, a training step and its gradients, configuration (HCL by hand: distill-support's LossesTest). */
class CsfDistillerTest extends TinyPairTest {
    private static DistillContext context(NDManager m, Map<String, ?> config) {
        return new DistillContext(TEACHER, STUDENT, config, m, 3);
    }

    @Test
    void aTrainingStepGivesOneFiniteTermAndGradientsToEveryCellAndStudentMap() {
        try (NDManager m = engine.newBaseManager()) {
            CsfDistiller d = new CsfDistiller();
            DistillationModule module = d.build(context(m, Map.of("mid_channels", "16")));
            // one cell per stage, cell 0 the deepest; the deepest has no fusion branch
            assertTrue(module.parameters().containsKey("skfs.0.conv2.0.weight") && module.parameters().containsKey("skfs.3.fc.0.weight"));
            assertFalse(module.parameters().containsKey("skfs.0.fc.0.weight"));
            assertEquals(16, module.parameters().get("skfs.0.conv1.0.weight").getArray().getShape().get(0));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64), student = RandomTaps.values(STUDENT, m, 2, 64, 64);
            for (int s = 1; s <= 4; s++) student.get(TapNames.features(s)).setRequiresGradient(true);
            float[] runningMean = module.parameters().get("skfs.1.conv1.1.running_mean").getArray().toFloatArray();
            List<LossTerm> terms;
            try (GradientCollector c = engine.newGradientCollector()) {
                terms = module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE));
                c.backward(terms.get(0).value());
            }
            assertEquals(List.of("csf.hcl"), terms.stream().map(LossTerm::name).toList());
            assertEquals(1.0, terms.get(0).weight());
            float loss = terms.get(0).value().getFloat();
            assertTrue(Float.isFinite(loss) && loss > 0, "hcl " + loss);
            for (String key : List.of("skfs.0.conv1.0.weight", "skfs.0.conv2.0.weight", "skfs.2.fc.0.weight", "skfs.2.fcs.1.weight", "skfs.3.conv2.1.weight")) {
                assertUsefulGradient(key, module.parameters().get(key).getArray().getGradient());
            }
            for (int s = 1; s <= 4; s++) assertUsefulGradient(TapNames.features(s), student.get(TapNames.features(s)).getGradient());
            assertFalse(Arrays.equals(runningMean, module.parameters().get("skfs.1.conv1.1.running_mean").getArray().toFloatArray()),
                    "training mode updates the running statistics");
            module.close();
        }
    }

    @Test
    void aBatchOfOneTakesTheBranchWithoutBatchNorm() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new CsfDistiller().build(context(m, Map.of()));
            // 64×64: the deepest map is 2×2, so its BatchNorm has more than one value per channel in a batch of one
            TapValues teacher = RandomTaps.values(TEACHER, m, 1, 64, 64), student = RandomTaps.values(STUDENT, m, 1, 64, 64);
            try (GradientCollector c = engine.newGradientCollector()) {
                c.backward(module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE)).get(0).value());
            }
            assertUsefulGradient("fc1", module.parameters().get("skfs.1.fc1.0.weight").getArray().getGradient());
        }
    }

    @Test
    void aRejectedConfigurationIsReportedAndRefusesToBuild() {
        CsfDistiller d = new CsfDistiller();
        d.configure(Map.of("midChannels", "abc"));
        assertEquals("dev.retort.distill.csf: midChannels must be an integer, got 'abc'", d.rejection().orElseThrow());
        try (NDManager m = engine.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class, () -> d.build(context(m, Map.of())));
            assertEquals("csf: configuration rejected: dev.retort.distill.csf: midChannels must be an integer, got 'abc'", e.getMessage());
        }
        var typo = assertThrows(IllegalArgumentException.class, () -> new CsfDistiller().validate(Map.of("mid_chanels", "8")));
        assertEquals("csf: unknown key 'module.csf.mid_chanels' (did you mean module.csf.mid_channels?); known keys: module.csf.mid_channels,"
                + " module.csf.weight", typo.getMessage());
        assertEquals("csf: weight must be a number >= 0.0, got '-1'",
                assertThrows(IllegalArgumentException.class, () -> new CsfDistiller().validate(Map.of("weight", "-1"))).getMessage());
        d.configure(Map.of("enabled", "false", "weight", "2"));
        assertFalse(d.enabled());
        assertEquals("cross selective fusion + HCL pyramid loss (weight 2.0, 64 mid channels)", d.description());
    }

    @Test
    void weightIsAppliedInPlaceAndMidChannelsRebuilds() {
        try (NDManager m = engine.newBaseManager()) {
            CsfDistiller d = new CsfDistiller();
            DistillationModule module = d.build(context(m, Map.of()));
            Reconfiguration same = module.reconfigure(context(m, Map.of("weight", "0.5")));
            assertTrue(same.inPlace());
            assertEquals("weight 1.0 -> 0.5", same.changes());
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 32, 32), student = RandomTaps.values(STUDENT, m, 2, 32, 32);
            assertEquals(0.5, module.forward(new DistillStep(teacher, student, false, m, PortRefiner.NONE)).get(0).weight());
            Reconfiguration rebuild = module.reconfigure(context(m, Map.of("mid_channels", "32")));
            assertFalse(rebuild.inPlace());
            assertEquals("mid_channels 64 -> 32 changes the parameter shapes", rebuild.changes());
        }
    }

    @Test
    void itsParityCaseChecksTheCsfGroupInTrainingMode() {
        var cases = new CsfParity().cases();
        assertEquals(1, cases.size());
        assertEquals("transkd-modules", cases.get(0).fixture());
        assertEquals("csf", cases.get(0).group());
        assertEquals(List.of("csf"), cases.get(0).modules().stream().map(x -> x.distiller()).toList());
        assertTrue(cases.get(0).training(), "the fixture holds the running statistics after a training-mode forward");
    }
}
