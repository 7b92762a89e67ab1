package dev.retort.distill.ea;

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
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.distill.Refinement;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.RandomTaps;
import dev.retort.testing.TinyPairTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** EA on small MiT-shaped taps: its refinements of PEA's projections, gradients, the blend, configuration. */
class EaDistillerTest extends TinyPairTest {
    private static DistillContext context(NDManager m, Map<String, ?> config) {
        return new DistillContext(TEACHER, STUDENT, config, m, 3);
    }

    /** A teacher-width projection of stage {@code s} for a 2×32×32 batch. */
    private static NDArray projected(NDManager m, int s) {
        int side = 32 / (4 << (s - 1));
        return m.randomNormal(new Shape(2, (long) side * side, TEACHER.require(TapNames.embeds(s)).channels()));
    }

    @Test
    void eachStagesRefinementBlendsAnAssistantIntoPeasProjectionWithGradients() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new EaDistiller().build(context(m, Map.of()));
            assertEquals(List.of("pea.output.1", "pea.output.2", "pea.output.3", "pea.output.4"),
                    module.refinements().stream().map(Refinement::port).toList());
            // the stage-1 assistant: kernel 7, stride 4, from the image to the teacher's width
            assertEquals(new Shape(16, 3, 7, 7), module.parameters().get("patch_embed1.proj.weight").getArray().getShape());
            assertEquals(new Shape(32, 8, 3, 3), module.parameters().get("patch_embed2.proj.weight").getArray().getShape());
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 32, 32), student = RandomTaps.values(STUDENT, m, 2, 32, 32);
            student.get(TapNames.features(2)).setRequiresGradient(true);  // stage 3's input
            DistillStep step = new DistillStep(teacher, student, true, m, PortRefiner.NONE);
            NDArray out;
            try (GradientCollector c = engine.newGradientCollector()) {
                out = module.refinements().get(2).apply(projected(m, 3), step);
                c.backward(out.square().mean());
            }
            assertEquals(new Shape(2, 4, 48), out.getShape());
            for (String key : List.of("patch_embed3.proj.weight", "patch_embed3.norm.weight", "fuse_weights.2", "fuse_weights.6")) {
                assertUsefulGradient(key, module.parameters().get(key).getArray().getGradient());
            }
            assertUsefulGradient("features.2", student.get(TapNames.features(2)).getGradient());
            assertTrue(module.forward(step).isEmpty(), "no loss of its own");
        }
    }

    @Test
    void lambdaOneAndMuZeroLeaveThePeaProjectionAsItIs() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new EaDistiller().build(context(m, Map.of("stages", "2", "lambdas", "1,1,1,1", "mus", "0,0,0,0")));
            assertEquals(List.of("pea.output.2"), module.refinements().stream().map(Refinement::port).toList());
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 32, 32), student = RandomTaps.values(STUDENT, m, 2, 32, 32);
            NDArray p = projected(m, 2);
            assertArrayEquals(p.toFloatArray(), module.refinements().get(0).apply(p, new DistillStep(teacher, student, false, m, PortRefiner.NONE))
                    .toFloatArray(), 0f);
        }
    }

    @Test
    void badValuesAreRejectedAndTheStageCountIsCheckedAgainstTheStudent() {
        EaDistiller d = new EaDistiller();
        d.configure(Map.of("mus", "1,2"));
        assertEquals("dev.retort.distill.ea: lambdas and mus need as many values, got 4 and 2", d.rejection().orElseThrow());
        d.configure(Map.of("stages", "0,1"));
        assertEquals("dev.retort.distill.ea: stages must be a list of stages >= 1, got '0,1'", d.rejection().orElseThrow());
        d.configure(Map.of());
        try (NDManager m = engine.newBaseManager()) {
            var count = assertThrows(IllegalArgumentException.class, () -> d.build(context(m, Map.of("lambdas", "1,1,1", "mus", "1,1,1"))));
            assertEquals("ea: lambdas and mus need one value per student stage (4), got 3 and 3", count.getMessage());
            var stage = assertThrows(IllegalArgumentException.class, () -> d.build(context(m, Map.of("stages", "5"))));
            assertEquals("ea: stage 5 is not a stage of tiny-s", stage.getMessage());
        }
        assertEquals("embedding assistant: teacher-width patch embeddings blended into PEA (lambda 0.1,0.2,0.3,0.4, mu 0.5,0.6,0.7,0.8)", d.description());
    }

    @Test
    void everyChangeIsStructural() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new EaDistiller().build(context(m, Map.of()));
            Reconfiguration none = module.reconfigure(context(m, Map.of()));
            assertTrue(none.inPlace());
            Reconfiguration mus = module.reconfigure(context(m, Map.of("mus", "1,1,1,1")));
            assertFalse(mus.inPlace());
            assertEquals("mus 0.5,0.6,0.7,0.8 -> 1.0,1.0,1.0,1.0 (initial values) changes the parameters", mus.changes());
        }
    }

    @Test
    void itsParityCaseBuildsPeaWithIt() {
        var c = new EaParity().cases().get(0);
        assertEquals(List.of("pea", "ea"), c.modules().stream().map(x -> x.distiller()).toList());
        assertEquals(Map.of("pea.out.", "ea.out."), c.probeAliases());
    }
}
