package dev.retort.backbones.mit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.testing.EngineTest;
import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.nio.ByteBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A training step's gradients do not depend on when the garbage collector runs. The attention scale and the
 * drop-path rescaling are array-and-number products whose scalar the backward reads; with DJL's
 * {@code NDArray.mul(Number)} a collection between forward and backward poisoned exactly the parameters upstream of
 * them (the sporadic "non-finite gradients with a finite loss" of training runs).
 */
class MitGradientTest extends EngineTest {
    static final Map<String, Object> TINY = Map.of("embed_dims", "8,16,24,32", "depths", "2,1,1,1", "num_heads", "1,2,3,4",
            "decoder_dim", 16, "num_classes", 5, "drop_path_rate", 0.2);
    final MitBackbone backbone = new MitBackbone();

    @Test
    void gradientsAreTheSameWithAGarbageCollectionBetweenForwardAndBackward() throws InterruptedException {
        try (NDManager m = engine.newBaseManager();
             SegmentationNetwork clean = backbone.build("mit-b0", TINY, m, 3);
             SegmentationNetwork collected = backbone.build("mit-b0", TINY, m, 3)) {
            NDArray image = m.randomUniform(0, 1, new Shape(2, 3, 64, 64));
            step(clean, image, false);
            step(collected, image, true);
            for (Map.Entry<String, Parameter> e : clean.parameters().entrySet()) {
                if (!e.getValue().requiresGradient()) continue;
                assertArrayEquals(e.getValue().getArray().getGradient().toFloatArray(),
                        collected.parameters().get(e.getKey()).getArray().getGradient().toFloatArray(), e.getKey());
            }
        }
    }

    private static void step(SegmentationNetwork net, NDArray image, boolean collectBeforeBackward) throws InterruptedException {
        engine.setRandomSeed(11);  // the same drop-path masks in both networks
        try (GradientCollector c = engine.newGradientCollector()) {
            NDArray logits = net.forward(image, true).get("logits");
            NDArray loss = logits.logSoftmax(1).get(":, 0").mean().neg();
            if (collectBeforeBackward) collectGarbage();
            c.backward(loss);
        }
    }

    /** Returns once a forced collection's unreachable direct buffers have been freed (see nn's ScalarsTest). */
    private static void collectGarbage() throws InterruptedException {
        ReferenceQueue<Object> queue = new ReferenceQueue<>();
        for (int round = 0; round < 2; round++) {
            PhantomReference<Object> sentinel = new PhantomReference<>(ByteBuffer.allocateDirect(4), queue);
            System.gc();
            assertNotNull(queue.remove(60_000), "a forced garbage collection released an unreachable direct buffer");
            sentinel.clear();
        }
    }
}
