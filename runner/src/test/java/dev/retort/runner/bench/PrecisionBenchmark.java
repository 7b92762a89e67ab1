package dev.retort.runner.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.backbones.mit.MitBackbone;
import dev.retort.nn.CastWeights;
import dev.retort.nn.Ops;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Benchmark harness (not a test): the operations a SegFormer teacher spends its time in, in float32, bfloat16 (through
 * {@code nn}'s {@code BFloat16}, as a bf16 teacher runs them) and float16, on this machine's device, with the
 * achieved GFLOP/s and the time ratios to float32; then a whole MiT-B2 teacher forward (128×256, batch 2) in float32
 * and in bfloat16, with the bfloat16 logits' largest deviation.
 *
 * <pre>mvn -q install -DskipTests &amp;&amp; mvn -q -pl runner test-compile exec:java@bench-precision</pre>
 */
public final class PrecisionBenchmark {
    public static void main(String[] args) {
        Engine engine = DjlRuntime.startOffline(Path.of(System.getProperty("user.home"), ".cache", "retort", "djl"));
        try (NDManager m = engine.newBaseManager()) {
            System.out.printf("device %s, %d cores, libtorch %s%n", m.getDevice(), Runtime.getRuntime().availableProcessors(), engine.getVersion());
            System.out.printf("%-46s %9s %9s %9s %9s %9s %9s %7s %7s%n", "operation", "fp32 ms", "bf16 ms", "fp16 ms", "fp32 GF/s", "bf16 GF/s",
                    "fp16 GF/s", "bf16/32", "fp16/32");
            for (int n : new int[] {512, 1024}) {
                row("matmul " + n + "x" + n, 2.0 * n * n * n, x -> x[0].matMul(x[0]), m.randomNormal(new Shape(n, n)));
            }
            // MiT-B2 stage 1 at 128x256, batch 2: 4096 tokens of 64 channels; Mix-FFN fc1 64 -> 256
            row("linear 2x2048x64 -> 256 (B2 stage 1 fc1)", 2.0 * 4096 * 64 * 256, x -> Ops.linear(x[0], x[1], null),
                    m.randomNormal(new Shape(2, 2048, 64)), m.randomNormal(new Shape(256, 64)));
            // MiT-B2 patch embedding 1 at 128x256: 7x7 stride 4, 3 -> 64
            row("conv 7x7/4 3->64 on 2x3x128x256 (patch embed)", 2.0 * 2 * 32 * 64 * 64 * 3 * 49, x -> Ops.conv2d(x[0], x[1], null, 4, 3, 1),
                    m.randomNormal(new Shape(2, 3, 128, 256)), m.randomNormal(new Shape(64, 3, 7, 7)));
            teacher(m);
        }
    }

    /** Times {@code op} on float32 inputs, then on their bfloat16 and float16 copies (mean of 3 after 1 warm-up each). */
    private static void row(String name, double flops, Function<NDArray[], NDArray> op, NDArray... inputs) {
        NDArray[] bf16 = new NDArray[inputs.length], half = new NDArray[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            bf16[i] = CastWeights.to(inputs[i], DataType.BFLOAT16);
            half[i] = inputs[i].toType(DataType.FLOAT16, false);
        }
        double fp32 = time(() -> op.apply(inputs)), b = time(() -> op.apply(bf16)), fp16 = time(() -> op.apply(half));
        System.out.printf("%-46s %9.1f %9.1f %9.1f %9.1f %9.2f %9.2f %7.1f %7.1f%n", name, fp32 * 1e3, b * 1e3, fp16 * 1e3, flops / fp32 / 1e9,
                flops / b / 1e9, flops / fp16 / 1e9, b / fp32, fp16 / fp32);
    }

    /** A MiT-B2 teacher's whole forward at 128×256, batch 2, in float32 and in bfloat16 (weights cast once). */
    private static void teacher(NDManager m) {
        try (SegmentationNetwork net = new MitBackbone().build("mit-b2", Map.of(), m, 1)) {
            NDArray image = m.randomUniform(0f, 1f, new Shape(2, 3, 128, 256));
            double fp32 = time(() -> net.forward(image, false).get("logits"));
            NDArray expected = net.forward(image, false).get("logits");
            try (CastWeights weights = new CastWeights(net.parameters().values().stream().map(p -> p.getArray()).toList(), DataType.BFLOAT16);
                 CastWeights.Scope open = weights.open()) {
                NDArray input = CastWeights.to(image, DataType.BFLOAT16);
                double bf16 = time(() -> net.forward(input, false).get("logits"));
                NDArray got = CastWeights.toFloat32(net.forward(input, false).get("logits"));
                double deviation = expected.sub(got).abs().max().getFloat() / expected.abs().max().getFloat();
                System.out.printf("MiT-B2 teacher forward 2x3x128x256: fp32 %.0f ms, bf16 %.0f ms, bf16/fp32 %.2f; logits max |Δ| %.2f%% of max |logit|%n",
                        fp32 * 1e3, bf16 * 1e3, bf16 / fp32, 100 * deviation);
            }
        }
    }

    private static double time(Supplier<NDArray> op) {
        CastWeights.toFloat32(op.get()).sum().getFloat();
        long t = System.nanoTime();
        int n = 3;
        for (int i = 0; i < n; i++) CastWeights.toFloat32(op.get()).sum().getFloat();
        return (System.nanoTime() - t) / 1e9 / n;
    }
}
