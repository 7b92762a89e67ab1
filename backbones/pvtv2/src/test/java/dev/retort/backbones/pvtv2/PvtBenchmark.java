package dev.retort.backbones.pvtv2;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.backbones.mit.MitBackbone;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Speed comparison (not a test): forward and forward+backward milliseconds of PVTv2-B0 + Semantic FPN and MiT-B0 +
 * SegFormer head in the same process, batch 2, training mode for the backward (as a student step), median of 5 after
 * 2 warm-up runs. Arguments: H W batch (default 128 256 2).
 *
 * <pre>mvn -q -pl backbones/pvtv2 test-compile exec:java@bench</pre>
 */
public final class PvtBenchmark {
    private static final int WARMUP = 2;
    private static final int RUNS = 5;

    public static void main(String[] args) {
        long h = args.length > 0 ? Long.parseLong(args[0]) : 128, w = args.length > 1 ? Long.parseLong(args[1]) : 256;
        long batch = args.length > 2 ? Long.parseLong(args[2]) : 2;
        Engine engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
        System.out.printf("engine %s %s, %d CPU threads visible to the JVM, input %dx3x%dx%d%n", engine.getEngineName(), engine.getVersion(),
                Runtime.getRuntime().availableProcessors(), batch, h, w);
        System.out.printf("%-10s %12s %12s %10s%n", "model", "fwd ms", "fwd+bwd ms", "params");
        Map<String, Backbone> models = Map.of("pvtv2-b0", new PvtBackbone(), "mit-b0", new MitBackbone());
        for (String variant : new String[] {"pvtv2-b0", "mit-b0", "pvtv2-b0", "mit-b0"}) {  // twice each: the first pair warms the process
            try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = models.get(variant).build(variant, Map.of(), m, 0)) {
                NDArray image = m.randomUniform(0, 1, new Shape(batch, 3, h, w));
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
                System.out.printf("%-10s %12.1f %12.1f %,10d%n", variant, fwd, both, net.spec().parameters());
            }
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
}
