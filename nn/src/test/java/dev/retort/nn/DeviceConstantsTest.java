package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Resize and pooling matrices are uploaded once per device, type and size, and a step's resize then uploads nothing. */
class DeviceConstantsTest {
    static Engine engine;

    @BeforeAll
    static void start() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void aMatrixIsUploadedOnceAndSharedByEveryCallOfTheSameKind() {
        try (NDManager step = engine.newBaseManager()) {
            NDArray x = step.randomUniform(0f, 1f, new Shape(1, 2, 6, 10));
            NDArray a = DeviceConstants.matrix("test-average", List.of(6, 3), new Shape(3, 6), x, () -> ResizeMatrices.adaptiveAverage(6, 3));
            HostTransfers.Count before = HostTransfers.count();
            NDArray b = DeviceConstants.matrix("test-average", List.of(6, 3), new Shape(3, 6), x, () -> {
                throw new AssertionError("made again");
            });
            assertEquals(new HostTransfers.Count(0, 0, 0), HostTransfers.count().minus(before), "nothing crosses for a cached matrix");
            assertSame(step, b.getManager(), "the caller's handle is in the caller's manager");
            assertArrayEquals(HostTransfers.floats(a), HostTransfers.floats(b));
            assertArrayEquals(ResizeMatrices.adaptiveAverage(6, 3), HostTransfers.floats(a));
            NDArray wide = x.toType(DataType.FLOAT64, false);
            NDArray c = DeviceConstants.matrix("test-average", List.of(6, 3), new Shape(3, 6), wide, () -> ResizeMatrices.adaptiveAverage(6, 3));
            assertNotSame(a, c);
            assertEquals(DataType.FLOAT64, c.getDataType(), "one per type");
        }
    }

    @Test
    void aResizeAndAPoolingUploadNothingOnceTheirMatricesExist() {
        try (NDManager step = engine.newBaseManager()) {
            NDArray x = step.randomUniform(0f, 1f, new Shape(2, 3, 12, 20));
            NDArray first = Ops.adaptiveAvgPool(x, 4, 4).add(Ops.resizeBilinear(x, 5, 7, true).sum());
            HostTransfers.Count before = HostTransfers.count();
            NDArray again = Ops.adaptiveAvgPool(x, 4, 4).add(Ops.resizeBilinear(x, 5, 7, true).sum());
            assertEquals(new HostTransfers.Count(0, 0, 0), HostTransfers.count().minus(before));
            assertArrayEquals(first.toFloatArray(), again.toFloatArray());
        }
    }

    @Test
    void nothingComputedFromAConstantStaysInTheCache() {
        for (int step = 0; step < 3; step++) {
            try (NDManager scope = engine.newBaseManager()) {
                NDArray x = scope.randomUniform(0f, 1f, new Shape(2, 3, 12, 20));
                x.setRequiresGradient(true);
                try (ai.djl.training.GradientCollector c = engine.newGradientCollector()) {
                    c.backward(Ops.adaptiveAvgPool(x, 4, 4).sum().add(Ops.resizeBilinear(x, 5, 7, true).sum()));
                }
                assertEquals(1, x.getGradient().getShape().get(0) / 2, "the backward ran through the constants");
            }
            assertEquals(DeviceConstants.size(), DeviceConstants.heldArrays(), "the cache's managers hold the constants and nothing else after step " + step);
        }
    }
}
