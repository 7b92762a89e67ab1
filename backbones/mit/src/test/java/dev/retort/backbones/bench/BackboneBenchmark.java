package dev.retort.backbones.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.backbones.mit.BenchAccess;
import dev.retort.runtime.DjlRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Benchmark harness (not a test): forward and forward+backward time of SegFormer-B0 and -B2 on this machine's CPU,
 * as ratios to a plain 1024×1024 matmul measured in the same run, and the process's peak resident memory per case.
 *
 * <pre>mvn -q install -DskipTests &amp;&amp; mvn -q -pl backbones test-compile exec:java@bench</pre>
 */
public final class BackboneBenchmark {
    private static final int WARMUP = 2;
    private static final int RUNS = 5;

    public static void main(String[] args) throws Exception {
        Engine engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
        System.out.printf("engine %s %s, %d CPU threads visible to the JVM%n", engine.getEngineName(), engine.getVersion(),
                Runtime.getRuntime().availableProcessors());
        double baseline = matmulMillis(engine);
        System.out.printf("baseline: 1024x1024 @ 1024x1024 float32 matmul = %.2f ms (median of %d)%n%n", baseline, RUNS);
        System.out.printf("%-8s %-14s %12s %10s %14s %10s %12s%n", "model", "input", "fwd ms", "fwd/base", "fwd+bwd ms", "f+b/base",
                "peak RSS MB");
        for (String variant : new String[] {"mit-b0", "mit-b2"}) {
            for (long[] hw : new long[][] {{128, 256}, {256, 512}}) {
                resetPeak();
                try (NDManager m = engine.newBaseManager();
                     SegmentationNetwork net = BenchAccess.backbone().build(variant, Map.of(), m, 0)) {
                    NDArray image = m.randomUniform(0, 1, new Shape(2, 3, hw[0], hw[1]));
                    double fwd = median(() -> {
                        try (NDManager step = m.newSubManager()) {
                            NDArray x = image.duplicate();
                            x.attach(step);
                            net.forward(x, false).get("logits").toFloatArray();
                        }
                    });
                    double both = median(() -> {
                        try (NDManager step = m.newSubManager(); GradientCollector c = engine.newGradientCollector()) {
                            NDArray x = image.duplicate();
                            x.attach(step);
                            c.backward(net.forward(x, true).get("logits").mean());
                        }
                    });
                    System.out.printf("%-8s 2x3x%-10s %12.1f %10.1f %14.1f %10.1f %12d%n", variant, hw[0] + "x" + hw[1], fwd,
                            fwd / baseline, both, both / baseline, peakRssMb());
                }
            }
        }
    }

    private static double matmulMillis(Engine engine) {
        try (NDManager m = engine.newBaseManager()) {
            NDArray a = m.randomUniform(0, 1, new Shape(1024, 1024));
            NDArray b = m.randomUniform(0, 1, new Shape(1024, 1024));
            return median(() -> {
                try (NDManager step = m.newSubManager()) {
                    NDArray c = a.matMul(b);
                    c.attach(step);
                    c.sum().getFloat();
                }
            });
        }
    }

    private static double median(Runnable r) {
        for (int i = 0; i < WARMUP; i++) r.run();
        double[] t = new double[RUNS];
        for (int i = 0; i < RUNS; i++) {
            long start = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(t);
        return t[RUNS / 2];
    }

    /** Linux: writing 5 to clear_refs resets the peak resident set size (VmHWM) of this process. */
    private static void resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | UnsupportedOperationException e) {
            // not Linux, or not permitted: the peak then covers the whole run so far
        }
    }

    private static long peakRssMb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return -1;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
        }
        return -1;
    }
}
