package dev.retort.distill.support;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.LossTerm;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ObjectiveTest {
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void theTotalIsTheCrossEntropyPlusEachWeightedTermInTheStepsOrder() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray ce = m.create(0.75f);
            List<LossTerm> terms = List.of(new LossTerm("a.1", 0.5, m.create(2f)), new LossTerm("b", 2.0, m.create(-0.25f)));
            Objective.Loss loss = Objective.compose(ce, terms);
            assertEquals(0.75 + 0.5 * 2 + 2.0 * -0.25, loss.total().getFloat(), 1e-6);
            assertEquals(List.of("ce", "a.1", "b", "total"), List.copyOf(loss.values().keySet()));
            assertEquals(Map.of("ce", 0.75, "a.1", 2.0, "b", -0.25, "total", 1.25), loss.values());
            assertEquals(List.of("ce", "a.1", "b"), List.copyOf(loss.weights().keySet()));
            assertEquals(Map.of("ce", 1.0, "a.1", 0.5, "b", 2.0), loss.weights());
            // without a cross-entropy (parity, kd:modules): the terms alone
            assertEquals(0.5, Objective.total(null, terms).getFloat(), 1e-6);
            assertEquals(List.of("a.1", "b", "total"), List.copyOf(Objective.compose(null, terms).values().keySet()));
            assertThrows(IllegalArgumentException.class, () -> Objective.total(null, List.of()));
        }
    }

    @Test
    void aTermOfWeightZeroCountsWithZeroGradientAndANonFiniteOneStillPoisonsTheTotal() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = m.create(new float[] {1f, 2f});
            NDArray y = m.create(new float[] {3f, -1f});
            x.setRequiresGradient(true);
            y.setRequiresGradient(true);
            NDArray total;
            try (GradientCollector c = engine.newGradientCollector()) {
                total = Objective.total(x.sum(), List.of(new LossTerm("off", 0.0, y.square().sum()), new LossTerm("on", 3.0, y.sum())));
                c.backward(total);
            }
            assertEquals(3 + 3 * 2, total.getFloat(), 1e-6);
            assertArrayEquals(new float[] {1f, 1f}, x.getGradient().toFloatArray(), 0f);
            assertArrayEquals(new float[] {3f, 3f}, y.getGradient().toFloatArray(), 0f, "0·d(y²) adds nothing to the gradient");
            NDArray nan = Objective.total(m.create(1f), List.of(new LossTerm("broken", 0.0, m.create(Float.NaN))));
            assertTrue(Float.isNaN(nan.getFloat()), "a NaN term is seen whatever its weight");
        }
    }
}
