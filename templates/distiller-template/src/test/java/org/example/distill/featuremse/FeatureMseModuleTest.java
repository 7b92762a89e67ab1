package org.example.distill.featuremse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
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
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The module against real tensors on the PyTorch engine, with values computed by hand. */
class FeatureMseModuleTest {
    static Engine engine;

    @BeforeAll
    static void engine() {
        // Offline, as in the runtime; DJL_CACHE_DIR (set by the parent pom) says where libtorch is unpacked.
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    private static FeatureMseDistiller distiller(Map<String, Object> configuration) {
        FeatureMseDistiller d = new FeatureMseDistiller();
        d.configure(configuration);
        return d;
    }

    /** One stage: features.1 with {@code channels} channels at stride {@code stride}. */
    private static TapLayout layout(String network, int channels, int stride) {
        return new TapLayout(network, 1, List.of(new TapSpec("features.1", channels, stride, TapKind.MAP)));
    }

    @Test
    void theLossIsTheMeanSquaredErrorOfTheProjectedStudentAndTheGradientReachesTheConvolution() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = distiller(Map.of("weight", 0.5))
                    .build(new DistillContext(layout("teacher", 2, 32), layout("student", 1, 32), Map.of(), m, 1));
            NDArray w = module.parameters().get(FeatureMseModule.WEIGHT_KEY).getArray();
            NDArray b = module.parameters().get(FeatureMseModule.BIAS_KEY).getArray();
            w.set(new float[] {2f, -1f});   // [2, 1, 1, 1]: channel 0 = 2x, channel 1 = -x
            b.set(new float[] {0.5f, 0f});
            NDArray student = m.create(new float[] {1f, 3f}, new Shape(1, 1, 1, 2));
            NDArray teacher = m.create(new float[] {3f, 6f, 0f, -2f}, new Shape(1, 2, 1, 2));

            List<LossTerm> terms;
            try (GradientCollector g = engine.newGradientCollector()) {
                terms = module.forward(new DistillStep(new TapValues("teacher", Map.of("features.1", teacher)),
                        new TapValues("student", Map.of("features.1", student)), true, m, PortRefiner.NONE));
                g.backward(terms.get(0).value());
            }
            // projected: channel 0 = (2.5, 6.5), channel 1 = (-1, -3); differences (-0.5, 0.5, -1, -1)
            // loss = (0.25 + 0.25 + 1 + 1) / 4 = 0.625
            assertEquals(1, terms.size());
            assertEquals("feature-mse", terms.get(0).name());
            assertEquals(0.5, terms.get(0).weight());
            assertEquals(0.625, terms.get(0).value().getFloat(), 1e-6);
            // dL/dW_c = 2/4 · Σ diff_c·x: (0.5·(-0.5·1 + 0.5·3), 0.5·(-1·1 - 1·3)) = (0.5, -2); dL/db_c = 0.5·Σ diff_c = (0, -1)
            assertArrayEquals(new float[] {0.5f, -2f}, w.getGradient().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {0f, -1f}, b.getGradient().toFloatArray(), 1e-6f);
            module.close();
        }
    }

    @Test
    void theSameSeedGivesTheSameParametersWithinPyTorchsDefaultBound() {
        try (NDManager m = engine.newBaseManager()) {
            FeatureMseDistiller d = distiller(Map.of());
            float[] a = weights(d, m, 7);
            assertArrayEquals(a, weights(d, m, 7));
            assertFalse(Arrays.equals(a, weights(d, m, 8)));
            double bound = 1 / Math.sqrt(16);  // fan_in = the student's 16 channels
            for (float v : a) assertTrue(Math.abs(v) <= bound, v + " outside ±" + bound);
        }
    }

    private static float[] weights(FeatureMseDistiller d, NDManager m, long seed) {
        DistillationModule module = d.build(new DistillContext(layout("t", 32, 32), layout("s", 16, 32), Map.of(), m, seed));
        float[] values = module.parameters().get(FeatureMseModule.WEIGHT_KEY).getArray().toFloatArray();
        module.close();
        return values;
    }

    @Test
    void differentStridesAreRefusedNamingBothNetworks() {
        try (NDManager m = engine.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class, () -> distiller(Map.of())
                    .build(new DistillContext(layout("mit-b2", 64, 32), layout("mit-b0", 32, 16), Map.of(), m, 1)));
            assertTrue(e.getMessage().startsWith("feature-mse: teacher mit-b2") && e.getMessage().contains("student mit-b0"), e.getMessage());
        }
    }

    @Test
    void badConfigurationIsAnErrorNamingTheKeyNeverADefault() {
        var misspelt = assertThrows(IllegalArgumentException.class, () -> distiller(Map.of()).validate(Map.of("wieght", "2")));
        assertTrue(misspelt.getMessage().contains("unknown key 'module.feature-mse.wieght' (did you mean module.feature-mse.weight?)"),
                misspelt.getMessage());
        var negative = assertThrows(IllegalArgumentException.class, () -> distiller(Map.of()).validate(Map.of("weight", "-1")));
        assertEquals("feature-mse: weight must be a number >= 0.0, got '-1'", negative.getMessage());

        FeatureMseDistiller d = distiller(Map.of("weight", "abc"));
        assertEquals("org.example.distill.featuremse: weight must be a number, got 'abc'", d.rejection().orElseThrow());
        try (NDManager m = engine.newBaseManager()) {
            var refused = assertThrows(IllegalArgumentException.class,
                    () -> d.build(new DistillContext(layout("t", 2, 32), layout("s", 1, 32), Map.of(), m, 1)));
            assertTrue(refused.getMessage().startsWith("feature-mse: configuration rejected: "), refused.getMessage());
        }
    }

    @Test
    void aNewWeightIsAppliedInPlaceKeepingTheTrainedParameters() {
        try (NDManager m = engine.newBaseManager()) {
            FeatureMseDistiller d = distiller(Map.of("weight", 0.5));
            DistillationModule module = d.build(new DistillContext(layout("t", 2, 32), layout("s", 1, 32), Map.of(), m, 1));
            NDArray before = module.parameters().get(FeatureMseModule.WEIGHT_KEY).getArray();
            Reconfiguration r = module.reconfigure(new DistillContext(layout("t", 2, 32), layout("s", 1, 32), Map.of("weight", "2"), m, 1));
            assertTrue(r.inPlace());
            assertEquals("weight 0.5 -> 2.0", r.changes());
            assertSame(before, module.parameters().get(FeatureMseModule.WEIGHT_KEY).getArray());
            module.close();
        }
    }
}
