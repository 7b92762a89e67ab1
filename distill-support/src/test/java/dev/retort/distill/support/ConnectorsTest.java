package dev.retort.distill.support;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Conv + BN, linear projection and resize against hand-computed values. */
class ConnectorsTest {
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void convBnIsNamedAsPyTorchsSequentialAndNormalisesTheConvolution() {
        try (NDManager m = engine.newBaseManager()) {
            ParameterSet p = new ParameterSet(m, 0);
            ConvBn c = ConvBn.add(p, "align", 1, 2, 1, Init.zeros());
            assertEquals(List.of("align.0.weight", "align.1.weight", "align.1.bias", "align.1.running_mean", "align.1.running_var"),
                    List.copyOf(p.asMap().keySet()));
            assertFalse(p.asMap().get("align.1.running_mean").requiresGradient());
            p.assign("align.0.weight", new float[] {2f, -1f});
            NDArray x = m.create(new float[] {1, 2, 3, 4}, new Shape(1, 1, 2, 2));
            // evaluation: running mean 0, variance 1 → w·x / √(1 + ε)
            float[] eval = c.forward(x, false).toFloatArray();
            double scale = 1 / Math.sqrt(1 + 1e-5);
            assertArrayEquals(new float[] {(float) (2 * scale), (float) (4 * scale), (float) (6 * scale), (float) (8 * scale),
                    (float) (-1 * scale), (float) (-2 * scale), (float) (-3 * scale), (float) (-4 * scale)}, eval, 1e-5f);
            // a view of the same parameters computes the same
            assertArrayEquals(eval, ConvBn.of(p, "align").forward(x, false).toFloatArray(), 0f);
            // training: batch statistics (channel 0 = 2,4,6,8: mean 5, biased variance 5), running mean 0.9·0 + 0.1·5
            NDArray y = c.forward(x, true);
            assertEquals((2 - 5) / Math.sqrt(5 + 1e-5), y.getFloat(0, 0, 0, 0), 1e-5);
            assertArrayEquals(new float[] {0.5f, -0.25f}, p.get("align.1.running_mean").toFloatArray(), 1e-6f);
        }
    }

    @Test
    void aThreeByThreeConvBnKeepsTheSpatialSizeAndTrains() {
        try (NDManager m = engine.newBaseManager()) {
            ParameterSet p = new ParameterSet(m, 7);
            ConvBn c = ConvBn.add(p, "c", 3, 4, 3, Init.kaimingUniform(1, 27));
            NDArray x = m.randomNormal(new Shape(2, 3, 5, 6));
            try (GradientCollector g = engine.newGradientCollector()) {
                NDArray y = c.forward(x, true);
                assertEquals(new Shape(2, 4, 5, 6), y.getShape());
                g.backward(y.square().mean());
            }
            float[] grad = p.get("c.0.weight").getGradient().toFloatArray();
            float norm = 0;
            for (float v : grad) norm += Math.abs(v);
            assertEquals(4 * 3 * 3 * 3, grad.length);
            assertFalse(Float.isNaN(norm) || norm == 0, "gradient " + norm);
            assertThrows(IllegalArgumentException.class, () -> ConvBn.add(p, "even", 3, 4, 2, Init.zeros()));
        }
    }

    @Test
    void linearProjectionMapsTheLastAxisWithPyTorchsNames() {
        try (NDManager m = engine.newBaseManager()) {
            ParameterSet p = new ParameterSet(m, 0);
            LinearProjection with = LinearProjection.add(p, "proj", 2, 2, true);
            LinearProjection.add(p, "nobias", 2, 1, false);
            assertEquals(List.of("proj.weight", "proj.bias", "nobias.weight"), List.copyOf(p.asMap().keySet()));
            assertEquals(new Shape(2, 2), p.get("proj.weight").getShape());
            // PyTorch's default initialisation: weight and bias U(±1/√in)
            for (String k : List.of("proj.weight", "proj.bias", "nobias.weight")) {
                for (float v : p.get(k).toFloatArray()) assertTrue(v != 0 && Math.abs(v) <= 1 / Math.sqrt(2), k + " " + v);
            }
            p.assign("proj.weight", new float[] {1, 2, 3, 4});
            p.assign("proj.bias", new float[] {0.5f, -1});
            p.assign("nobias.weight", new float[] {1, -1});
            NDArray tokens = m.create(new float[] {1, 1, 2, 0}, new Shape(1, 2, 2));  // two tokens (1,1) and (2,0)
            assertArrayEquals(new float[] {3.5f, 6f, 2.5f, 5f}, with.forward(tokens).toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {0f, 2f}, LinearProjection.of(p, "nobias").forward(tokens).toFloatArray(), 1e-6f);
        }
    }

    @Test
    void resizeResamplesAsPyTorch() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray row = m.create(new float[] {0, 4}, new Shape(1, 1, 1, 2));
            assertArrayEquals(new float[] {0, 0, 4, 4, 0, 0, 4, 4}, Resize.to(row, 2, 4, Resize.Mode.NEAREST).toFloatArray(), 0f);
            // align_corners=False: source x = (i + 0.5)/2 − 0.5 = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
            assertArrayEquals(new float[] {0, 1, 3, 4}, Resize.to(row, 1, 4, Resize.Mode.BILINEAR).toFloatArray(), 1e-6f);
            NDArray four = m.create(new float[] {1, 2, 3, 4}, new Shape(1, 1, 1, 4));
            assertArrayEquals(new float[] {1.5f, 3.5f}, Resize.like(four, row, Resize.Mode.AREA).toFloatArray(), 1e-6f);
            assertThrows(IllegalArgumentException.class, () -> Resize.to(row, 0, 2, Resize.Mode.AREA));
        }
    }
}
