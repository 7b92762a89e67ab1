package dev.retort.distill.glmixer;

import static dev.retort.testing.RetortAssertions.assertUsefulGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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

/** GL-Mixer on small MiT-shaped taps: its refinement of PEA's input, gradients, the mix's parts, configuration. */
class GlMixerDistillerTest extends TinyPairTest {
    private static DistillContext context(NDManager m, Map<String, ?> config) {
        return new DistillContext(TEACHER, STUDENT, config, m, 3);
    }

    private static NDArray refine(DistillationModule module, NDArray embedding, NDManager m) {
        TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64), student = RandomTaps.values(STUDENT, m, 2, 64, 64);
        Refinement r = module.refinements().get(0);
        return r.apply(embedding, new DistillStep(teacher, student, true, m, PortRefiner.NONE));
    }

    @Test
    void itRefinesPeasStageInputWithGradientsToEveryParameter() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new GlMixerDistiller().build(context(m, Map.of("heads", "4")));
            assertEquals(List.of("pea.input.4"), module.refinements().stream().map(Refinement::port).toList());
            assertTrue(module.ports().isEmpty());
            NDArray embedding = RandomTaps.values(STUDENT, m, 2, 64, 64).get(TapNames.embeds(4));
            embedding.setRequiresGradient(true);
            NDArray mixed;
            try (GradientCollector c = engine.newGradientCollector()) {
                mixed = refine(module, embedding, m);
                c.backward(mixed.square().mean());
            }
            assertEquals(embedding.getShape(), mixed.getShape());
            assertEquals(List.of("attn4.qkv.weight", "attn4.proj.weight", "attn4.proj.bias", "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                    "atten_weight", "conv_weight"), List.copyOf(module.parameters().keySet()));
            for (String key : module.parameters().keySet()) assertUsefulGradient(key, module.parameters().get(key).getArray().getGradient());
            assertUsefulGradient("embedding", embedding.getGradient());
            assertTrue(module.forward(new DistillStep(RandomTaps.values(TEACHER, m, 1, 32, 32), RandomTaps.values(STUDENT, m, 1, 32, 32), true, m,
                    PortRefiner.NONE)).isEmpty(), "no loss of its own");
        }
    }

    @Test
    void alphaAndBetaWeighTheTwoBranchesAndResidualAddsTheInputBack() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray embedding = RandomTaps.values(STUDENT, m, 1, 32, 32).get(TapNames.embeds(4));
            NDArray off = refine(new GlMixerDistiller().build(context(m, Map.of("alpha", "0", "beta", "0"))), embedding, m);
            assertArrayEquals(new float[(int) embedding.size()], off.toFloatArray(), 0f);
            NDArray back = refine(new GlMixerDistiller().build(context(m, Map.of("alpha", "0", "beta", "0", "residual", "true"))), embedding, m);
            assertArrayEquals(embedding.toFloatArray(), back.toFloatArray(), 0f);
            DistillationModule module = new GlMixerDistiller().build(context(m, Map.of("alpha", "0.25", "beta", "2")));
            assertEquals(0.25f, module.parameters().get("atten_weight").getArray().getFloat(), 0f);
            assertEquals(2f, module.parameters().get("conv_weight").getArray().getFloat(), 0f);
        }
    }

    @Test
    void headsMustDivideTheChannelsAndBadValuesAreRejected() {
        try (NDManager m = engine.newBaseManager()) {
            var heads = assertThrows(IllegalArgumentException.class, () -> new GlMixerDistiller().build(context(m, Map.of("heads", "3"))));
            assertTrue(heads.getMessage().startsWith("glmixer: student tiny-s ") && heads.getMessage().endsWith("has 32 channels, not divisible into 3 heads"),
                    heads.getMessage());
            var stage = assertThrows(IllegalArgumentException.class, () -> new GlMixerDistiller().build(context(m, Map.of("stage", "5"))));
            assertTrue(stage.getMessage().contains("tiny-s has no tap 'embeds.5'"), stage.getMessage());
        }
        GlMixerDistiller d = new GlMixerDistiller();
        d.configure(Map.of("heads", "0"));
        assertEquals("dev.retort.distill.glmixer: heads must be an integer >= 1, got '0'", d.rejection().orElseThrow());
        d.configure(Map.of("residual", "yes"));
        assertEquals("dev.retort.distill.glmixer: residual must be true or false, got 'yes'", d.rejection().orElseThrow());
        d.configure(Map.of("alpha", "0.7"));
        assertEquals("global-local mixer on the stage-4 student embedding before PEA (alpha 0.7, beta 0.5)", d.description());
        var typo = assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("stgae", "3")));
        assertTrue(typo.getMessage().startsWith("glmixer: unknown key 'module.glmixer.stgae' (did you mean module.glmixer.stage?)"), typo.getMessage());
    }

    @Test
    void residualIsAppliedInPlaceAndInitialValuesRebuild() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new GlMixerDistiller().build(context(m, Map.of()));
            Reconfiguration residual = module.reconfigure(context(m, Map.of("residual", "true")));
            assertTrue(residual.inPlace());
            assertEquals("residual false -> true", residual.changes());
            Reconfiguration alpha = module.reconfigure(context(m, Map.of("alpha", "1", "heads", "4")));
            assertFalse(alpha.inPlace());
            assertEquals("heads 8 -> 4, alpha 0.5 -> 1.0 (an initial value) changes the parameters", alpha.changes());
        }
    }

    @Test
    void itsParityCaseBuildsPeaOnStageFourWithIt() {
        var c = new GlMixerParity().cases().get(0);
        assertEquals("glmixer", c.group());
        assertEquals(List.of("pea", "glmixer"), c.modules().stream().map(x -> x.distiller()).toList());
        assertEquals(Map.of("stages", "4", "weights", "0,0,0,1.0"), c.modules().get(0).config());
        assertEquals(Map.of("pea.out.4", "glmixer.out.4"), c.probeAliases());
    }
}
