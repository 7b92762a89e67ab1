package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the optimizer does with a parameter that takes no part in a step, as PyTorch's AdamW does with a None gradient. */
class AdamWTest {
    @Test
    void aParameterIsLeftAloneUntilItFirstGetsAGradientThenDecaysLikeAnyOther() {
        try (NDManager m = TestServices.ENGINE.newBaseManager(); ParameterSet p = new ParameterSet(m, 1)) {
            NDArray used = p.add("used", new Shape(3), Init.ones());
            NDArray unused = p.add("unused", new Shape(3), Init.ones());
            AdamW adam = new AdamW(m, 0.01);
            Map<String, Parameter> params = p.asMap();
            adam.parameters(params);
            step(adam, used, null);
            assertArrayEquals(new float[] {1, 1, 1}, unused.toFloatArray(), "no gradient yet: no update, no weight decay");
            assertFalse(adam.steps().containsKey("unused"), "and no optimizer state (PyTorch holds none for a None gradient)");
            assertNotEquals(1f, used.toFloatArray()[0]);
            step(adam, used, unused);  // it takes part once
            assertEquals(1L, adam.steps().get("unused"));
            float after = unused.toFloatArray()[0];
            step(adam, used, null);  // from now on it is updated every step, as PyTorch updates a zeroed gradient
            assertEquals(2L, adam.steps().get("unused"));
            assertTrue(unused.toFloatArray()[0] != after, "momentum and weight decay go on");
        }
    }

    /** One step of sum(a²) (+ sum(b²)); gradients zeroed afterwards, as the trainer does. */
    private static void step(AdamW adam, NDArray a, NDArray b) {
        try (GradientCollector c = TestServices.ENGINE.newGradientCollector()) {
            NDArray loss = a.square().sum();
            if (b != null) loss = loss.add(b.square().sum());
            c.backward(loss);
        }
        adam.step(1e-2);
        adam.zeroGradients();
    }
}
