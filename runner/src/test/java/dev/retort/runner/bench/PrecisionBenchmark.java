package dev.retort.runner.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.Ops;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Benchmark harness (not a test): the operations a SegFormer teacher spends its time in, in float32 and in float16,
 * on this machine's device, with the achieved GFLOP/s and the float16/float32 time ratio. bfloat16 cannot be
 * measured through DJL 0.35.1 (its JNI has no bfloat16 type; see README, Precision).
 *
 * <pre>mvn -q install -DskipTests &amp;&amp; mvn -q -pl runner test-compile exec:java@bench-precision</pre>
 */
public final class PrecisionBenchmark {
    public static void main(String[] args) {
        Engine engine = DjlRuntime.startOffline(Path.of(System.getProperty("user.home"), ".cache", "retort", "djl"));
        try (NDManager m = engine.newBaseManager()) {
            System.out.printf("device %s, %d cores, libtorch %s%n", m.getDevice(), Runtime.getRuntime().availableProcessors(), engine.getVersion());
            System.out.printf("%-46s %10s %10s %9s %9s %7s%n", "operation", "fp32 ms", "fp16 ms", "fp32 GF/s", "fp16 GF/s", "ratio");
            for (int n : new int[] {512, 1024}) {
                row("matmul " + n + "x" + n, 2.0 * n * n * n, x -> x[0].matMul(x[0]), m.randomNormal(new Shape(n, n)));
            }
            // MiT-B2 stage 1 at 128x256, batch 2: 4096 tokens of 64 channels; Mix-FFN fc1 64 -> 256
            row("linear 2x2048x64 -> 256 (B2 stage 1 fc1)", 2.0 * 4096 * 64 * 256, x -> Ops.linear(x[0], x[1], null),
                    m.randomNormal(new Shape(2, 2048, 64)), m.randomNormal(new Shape(256, 64)));
            // MiT-B2 patch embedding 1 at 128x256: 7x7 stride 4, 3 -> 64
            row("conv 7x7/4 3->64 on 2x3x128x256 (patch embed)", 2.0 * 2 * 32 * 64 * 64 * 3 * 49, x -> Ops.conv2d(x[0], x[1], null, 4, 3, 1),
                    m.randomNormal(new Shape(2, 3, 128, 256)), m.randomNormal(new Shape(64, 3, 7, 7)));
        }
    }

    /** Times {@code op} on float32 inputs, then on their float16 copies (mean of 3 after 1 warm-up each). */
    private static void row(String name, double flops, Function<NDArray[], NDArray> op, NDArray... inputs) {
        NDArray[] half = new NDArray[inputs.length];
        for (int i = 0; i < inputs.length; i++) half[i] = inputs[i].toType(DataType.FLOAT16, false);
        double fp32 = time(() -> op.apply(inputs)), fp16 = time(() -> op.apply(half));
        System.out.printf("%-46s %10.1f %10.1f %9.1f %9.2f %7.1f%n", name, fp32 * 1e3, fp16 * 1e3, flops / fp32 / 1e9, flops / fp16 / 1e9, fp16 / fp32);
    }

    private static double time(Supplier<NDArray> op) {
        op.get().toType(DataType.FLOAT32, false).sum().getFloat();
        long t = System.nanoTime();
        int n = 3;
        for (int i = 0; i < n; i++) op.get().toType(DataType.FLOAT32, false).sum().getFloat();
        return (System.nanoTime() - t) / 1e9 / n;
    }
}
