package dev.retort.distill.pea;

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
import dev.retort.distill.support.Objective;
import dev.retort.distill.support.RandomTaps;
import dev.retort.testing.TinyPairTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** PEA on small MiT-shaped taps: build, a step and its gradients, a term by hand, its ports, configuration. */
class PeaDistillerTest extends TinyPairTest {
    private static DistillContext context(NDManager m, Map<String, ?> config) {
        return new DistillContext(TEACHER, STUDENT, config, m, 3);
    }

    @Test
    void oneWeightedMseTermPerStageWithGradientsToTheProjectionsAndTheStudent() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new PeaDistiller().build(context(m, Map.of()));
            assertEquals(List.of("pea.input.1", "pea.output.1", "pea.input.2", "pea.output.2", "pea.input.3", "pea.output.3", "pea.input.4",
                    "pea.output.4"), module.ports());
            assertEquals(List.of(32L, 8L), List.of(module.parameters().get("embed2_linearproject.weight").getArray().getShape().getShape()[0],
                    module.parameters().get("embed1_linearproject.weight").getArray().getShape().getShape()[1]));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 32, 32), student = RandomTaps.values(STUDENT, m, 2, 32, 32);
            student.get(TapNames.embeds(3)).setRequiresGradient(true);
            List<LossTerm> terms;
            try (GradientCollector c = engine.newGradientCollector()) {
                terms = module.forward(new DistillStep(teacher, student, false, m, PortRefiner.NONE));
                c.backward(Objective.total(null, terms));
            }
            assertEquals(List.of("pea.1", "pea.2", "pea.3", "pea.4"), terms.stream().map(LossTerm::name).toList());
            assertEquals(List.of(0.1, 0.1, 0.5, 1.0), terms.stream().map(LossTerm::weight).toList());
            // pea.2 by hand: mean over tokens and channels of (E_s·Wᵀ + b − E_t)²
            float[] e = student.get(TapNames.embeds(2)).toFloatArray(), t = teacher.get(TapNames.embeds(2)).toFloatArray();
            float[] w = module.parameters().get("embed2_linearproject.weight").getArray().toFloatArray();
            float[] b = module.parameters().get("embed2_linearproject.bias").getArray().toFloatArray();
            int tokens = 2 * 4 * 4, in = 16, out = 32;
            double sum = 0;
            for (int n = 0; n < tokens; n++) {
                for (int o = 0; o < out; o++) {
                    double y = b[o];
                    for (int i = 0; i < in; i++) y += e[n * in + i] * w[o * in + i];
                    sum += (y - t[n * out + o]) * (y - t[n * out + o]);
                }
            }
            assertEquals(sum / (tokens * out), terms.get(1).value().getFloat(), 1e-4);
            for (int s = 1; s <= 4; s++) assertUsefulGradient("stage " + s, module.parameters().get(PeaModule.key(s) + ".weight").getArray().getGradient());
            assertUsefulGradient("embeds.3", student.get(TapNames.embeds(3)).getGradient());
        }
    }

    @Test
    void stagesAndWeightsAreReadTogether() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new PeaDistiller().build(context(m, Map.of("stages", "2,4", "weights", "0,3,0,4")));
            TapValues teacher = RandomTaps.values(TEACHER, m, 1, 32, 32), student = RandomTaps.values(STUDENT, m, 1, 32, 32);
            List<LossTerm> terms = module.forward(new DistillStep(teacher, student, false, m, PortRefiner.NONE));
            assertEquals(List.of("pea.2", "pea.4"), terms.stream().map(LossTerm::name).toList());
            assertEquals(List.of(3.0, 4.0), terms.stream().map(LossTerm::weight).toList());
            assertEquals(4, module.parameters().size());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> new PeaDistiller().validate(Map.of("stages", "5")));
        assertEquals("pea: stage 5 has no weight (weights 0.1,0.1,0.5,1.0 cover stages 1..4)", e.getMessage());
    }

    @Test
    void aRejectedConfigurationIsReportedAndRefusesToBuild() {
        PeaDistiller d = new PeaDistiller();
        d.configure(Map.of("weights", "abc"));
        assertEquals("dev.retort.distill.pea: weights must be a list of numbers, got 'abc'", d.rejection().orElseThrow());
        try (NDManager m = engine.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class, () -> d.build(context(m, Map.of())));
            assertTrue(e.getMessage().startsWith("pea: configuration rejected: "), e.getMessage());
        }
        d.configure(Map.of("weights", "0.2, 0.2,1,2"));
        assertTrue(d.rejection().isEmpty());
        assertEquals("patch-embedding alignment: Linear(C_s -> C_t) + weighted MSE, stages 1,2,3,4, weights 0.2, 0.2,1,2", d.description());
        var typo = assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("wieghts", "1")));
        assertEquals("pea: unknown key 'module.pea.wieghts' (did you mean module.pea.weights?); known keys: module.pea.stages, module.pea.weights",
                typo.getMessage());
        assertEquals("pea: weights must be a list of numbers >= 0, got '1,-1,1,1'",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("weights", "1,-1,1,1"))).getMessage());
    }

    @Test
    void weightsAreAppliedInPlaceAndStagesRebuild() {
        try (NDManager m = engine.newBaseManager()) {
            PeaDistiller d = new PeaDistiller();
            DistillationModule module = d.build(context(m, Map.of()));
            Reconfiguration weights = module.reconfigure(context(m, Map.of("weights", "0.2,0.2,1.0,2.0")));
            assertTrue(weights.inPlace());
            assertEquals("stage weights 0.1,0.1,0.5,1.0 -> 0.2,0.2,1.0,2.0", weights.changes());
            Reconfiguration stages = module.reconfigure(context(m, Map.of("stages", "4")));
            assertFalse(stages.inPlace());
            assertEquals("stages 1,2,3,4 -> 4 changes the projections", stages.changes());
            var bad = assertThrows(IllegalArgumentException.class, () -> module.reconfigure(context(m, Map.of("stages", ""))));
            assertEquals("pea: no stages to distill", bad.getMessage());
        }
    }

    @Test
    void itsParityCaseChecksThePeaGroupOfTheModuleFixture() {
        var cases = new PeaParity().cases();
        assertEquals(1, cases.size());
        assertEquals("transkd-modules", cases.get(0).fixture());
        assertEquals("pea", cases.get(0).group());
        assertEquals(List.of("pea"), cases.get(0).modules().stream().map(x -> x.distiller()).toList());
        assertFalse(cases.get(0).training());
    }
}
