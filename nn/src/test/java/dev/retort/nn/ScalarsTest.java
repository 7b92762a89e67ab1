package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.runtime.DjlRuntime;
import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Gradients through array-and-number operations must not depend on the garbage collector. Each case builds many
 * small graphs, collects garbage (and waits until the freed direct buffers are released) between forward and
 * backward, and compares every gradient with the analytic one. With DJL's {@code NDArray.mul(Number)} & co. every
 * gradient read freed memory here.
 */
class ScalarsTest {
    private static final int GRAPHS = 64;
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void multiplyAndDivideGradientsSurviveGarbageCollection() throws InterruptedException {
        assertGradientAfterCollection(x -> Scalars.mul(x, 0.125), 0.125f);
        assertGradientAfterCollection(x -> Scalars.div(x, 8), 0.125f);
    }

    @Test
    void powerGradientSurvivesGarbageCollection() throws InterruptedException {
        // d(x²)/dx at x = 3
        assertGradientAfterCollection(x -> Scalars.pow(Scalars.mul(x, 3), 2), 18f);
    }

    @Test
    void addAndSubtractGradientsSurviveGarbageCollection() throws InterruptedException {
        assertGradientAfterCollection(x -> Scalars.mul(Scalars.sub(Scalars.add(x, 5), 2), 0.5), 0.5f);
    }

    /** Stochastic depth and channel dropout scale kept values by 1/keep; their gradient is mask/keep. */
    @Test
    void dropPathAndDropoutGradientsSurviveGarbageCollection() throws InterruptedException {
        engine.setRandomSeed(7);
        assertMaskedGradientAfterCollection(x -> Ops.dropPath(x, 0.5, true));
        assertMaskedGradientAfterCollection(x -> Ops.dropout2d(x, 0.5, true));
    }

    @Test
    void scalarTakesTheDataTypeAndDeviceOfItsArray() {
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = m.ones(new Shape(2), DataType.FLOAT64);
            try (NDArray s = Scalars.of(x, 0.5)) {
                assertEquals(x.getDataType(), s.getDataType());
                assertEquals(x.getDevice(), s.getDevice());
                assertEquals(new Shape(), s.getShape());
                assertEquals(0.5, s.getDouble());
            }
        }
    }

    private static void assertGradientAfterCollection(UnaryOperator<NDArray> f, float expected) throws InterruptedException {
        try (NDManager m = engine.newBaseManager()) {
            List<NDArray> xs = new ArrayList<>();
            try (GradientCollector c = engine.newGradientCollector()) {
                NDArray total = null;
                for (int i = 0; i < GRAPHS; i++) {
                    NDArray x = m.ones(new Shape(4));
                    x.setRequiresGradient(true);
                    xs.add(x);
                    NDArray y = f.apply(x).sum();
                    total = total == null ? y : total.add(y);
                }
                collectGarbage();
                c.backward(total);
            }
            for (NDArray x : xs) {
                for (float g : x.getGradient().toFloatArray()) assertEquals(expected, g, "gradient after a garbage collection");
            }
        }
    }

    private static void assertMaskedGradientAfterCollection(UnaryOperator<NDArray> f) throws InterruptedException {
        try (NDManager m = engine.newBaseManager()) {
            List<NDArray> xs = new ArrayList<>(), ys = new ArrayList<>();
            try (GradientCollector c = engine.newGradientCollector()) {
                NDArray total = null;
                for (int i = 0; i < GRAPHS; i++) {
                    NDArray x = m.ones(new Shape(4, 3, 2, 2));
                    x.setRequiresGradient(true);
                    xs.add(x);
                    NDArray y = f.apply(x);
                    ys.add(y);
                    total = total == null ? y.sum() : total.add(y.sum());
                }
                collectGarbage();
                c.backward(total);
            }
            int kept = 0;
            for (int i = 0; i < GRAPHS; i++) {
                // x is all ones, so the output is the mask scaled by 1/keep = 2, and so is the gradient
                float[] out = ys.get(i).toFloatArray(), grad = xs.get(i).getGradient().toFloatArray();
                for (int j = 0; j < out.length; j++) {
                    assertEquals(out[j], grad[j], "gradient after a garbage collection");
                    if (out[j] == 2f) kept++;
                }
            }
            assertTrue(kept > 0, "some values are kept");
        }
    }

    /**
     * Collects garbage and returns once the direct buffers that became unreachable before the call have been freed:
     * the reference handler processes one collection's references completely before the next collection's, so a
     * sentinel of a second collection arriving means everything found by the first was released.
     */
    static void collectGarbage() throws InterruptedException {
        ReferenceQueue<Object> queue = new ReferenceQueue<>();
        for (int round = 0; round < 2; round++) {
            PhantomReference<Object> sentinel = new PhantomReference<>(ByteBuffer.allocateDirect(4), queue);
            System.gc();
            assertNotNull(queue.remove(60_000), "a forced garbage collection released an unreachable direct buffer");
            sentinel.clear();
        }
    }
}
