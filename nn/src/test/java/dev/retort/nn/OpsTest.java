package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OpsTest {
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    /** PyTorch BatchNorm2d in training: running = 0.9·running + 0.1·batch, variance unbiased; output uses the biased one. */
    @Test
    void batchNormUpdatesRunningStatisticsAsPyTorch() {
        try (NDManager m = engine.newBaseManager()) {
            ParameterSet p = new ParameterSet(m, 0);
            p.add("bn.weight", new Shape(2), Init.ones());
            p.add("bn.bias", new Shape(2), Init.zeros());
            p.buffer("bn.running_mean", new Shape(2), Init.zeros());
            p.buffer("bn.running_var", new Shape(2), Init.ones());
            p.assign("bn.running_mean", new float[] {1f, 2f});
            // channel 0 holds 1,2,5,6 (mean 3.5, unbiased variance 17/3); channel 1 holds 3,4,7,8 (mean 5.5, same variance)
            NDArray x = m.create(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, new Shape(2, 2, 2, 1));
            NDArray y = Ops.batchNorm(x, p, "bn", true);
            assertArrayEquals(new float[] {0.9f * 1 + 0.35f, 0.9f * 2 + 0.55f}, p.get("bn.running_mean").toFloatArray(), 1e-6f);
            float var = 0.9f + 0.1f * 17f / 3f;
            assertArrayEquals(new float[] {var, var}, p.get("bn.running_var").toFloatArray(), 1e-6f);
            assertEquals((1 - 3.5) / Math.sqrt(17.0 / 4 + 1e-5), y.getFloat(0, 0, 0, 0), 1e-5);
            // evaluation mode uses and keeps the running statistics
            float[] before = p.get("bn.running_mean").toFloatArray();
            Ops.batchNorm(x, p, "bn", false);
            assertArrayEquals(before, p.get("bn.running_mean").toFloatArray());
        }
    }

    @Test
    void adaptiveAveragePoolingUsesPyTorchBins() {
        try (NDManager m = engine.newBaseManager()) {
            // length 5 into 2 bins: [0, 3) and [2, 5) overlap at index 2
            NDArray x = m.create(new float[] {1, 2, 3, 4, 5}, new Shape(1, 1, 1, 5));
            assertArrayEquals(new float[] {2f, 4f}, Ops.adaptiveAvgPool(x, 1, 2).toFloatArray(), 1e-6f);
            NDArray square = m.arange(16f).reshape(1, 1, 4, 4);
            assertArrayEquals(new float[] {7.5f}, Ops.adaptiveAvgPool(square, 1, 1).toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {2.5f, 4.5f, 10.5f, 12.5f}, Ops.adaptiveAvgPool(square, 2, 2).toFloatArray(), 1e-6f);
        }
    }
}
