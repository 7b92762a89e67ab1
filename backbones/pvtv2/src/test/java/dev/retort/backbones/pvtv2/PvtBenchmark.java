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
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Speed comparison (not a test): forward and forward+backward milliseconds of PVTv2-B0 + Semantic FPN and MiT-B0 +
 * SegFormer head in the same process, training mode for the backward (as a student step). The two networks are timed
 * in alternation, round after round, so that a busy machine slows both alike; medians over the rounds after 2 warm-up
 * rounds. Arguments: H W batch rounds (default 128 256 2 9).
 *
 * <pre>mvn -q -pl backbones/pvtv2 test-compile exec:java@bench</pre>
 */
public final class PvtBenchmark {
    private static final int WARMUP = 2;
    private static final String[] VARIANTS = {"pvtv2-b0", "mit-b0"};

    public static void main(String[] args) {
        long h = args.length > 0 ? Long.parseLong(args[0]) : 128, w = args.length > 1 ? Long.parseLong(args[1]) : 256;
        long batch = args.length > 2 ? Long.parseLong(args[2]) : 2;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 9;
        Engine engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
        System.out.printf("engine %s %s, %d CPU threads visible to the JVM, input %dx3x%dx%d, %d rounds%n", engine.getEngineName(),
                engine.getVersion(), Runtime.getRuntime().availableProcessors(), batch, h, w, rounds);
        Map<String, Backbone> families = Map.of("pvtv2-b0", new PvtBackbone(), "mit-b0", new MitBackbone());
        try (NDManager m = engine.newBaseManager()) {
            NDArray image = m.randomUniform(0, 1, new Shape(batch, 3, h, w));
            Map<String, SegmentationNetwork> nets = new LinkedHashMap<>();
            for (String v : VARIANTS) nets.put(v, families.get(v).build(v, Map.of(), m, 0));
            Map<String, double[]> forward = new LinkedHashMap<>(), both = new LinkedHashMap<>();
            for (String v : VARIANTS) {
                forward.put(v, new double[rounds]);
                both.put(v, new double[rounds]);
            }
            for (int r = -WARMUP; r < rounds; r++) {
                for (String v : VARIANTS) {
                    SegmentationNetwork net = nets.get(v);
                    double f = time(() -> {
                        try (NDManager step = m.newSubManager()) {
                            NDArray x = image.duplicate();
                            x.attach(step);
                            net.forward(x, false).get("logits").toFloatArray();
                        }
                    });
                    double fb = time(() -> {
                        try (NDManager step = m.newSubManager(); GradientCollector c = engine.newGradientCollector()) {
                            NDArray x = image.duplicate();
                            x.attach(step);
                            c.backward(net.forward(x, true).get("logits").mean());
                        }
                    });
                    if (r >= 0) {
                        forward.get(v)[r] = f;
                        both.get(v)[r] = fb;
                    }
                }
            }
            System.out.printf("%-10s %12s %12s %12s%n", "model", "fwd ms", "fwd+bwd ms", "params");
            for (String v : VARIANTS) {
                System.out.printf("%-10s %12.1f %12.1f %,12d%n", v, median(forward.get(v)), median(both.get(v)), nets.get(v).spec().parameters());
            }
            System.out.printf("ratio pvtv2-b0 / mit-b0: forward %.2f, forward+backward %.2f%n",
                    median(forward.get("pvtv2-b0")) / median(forward.get("mit-b0")), median(both.get("pvtv2-b0")) / median(both.get("mit-b0")));
            nets.values().forEach(SegmentationNetwork::close);
        }
    }

    private static double time(Runnable r) {
        long start = System.nanoTime();
        r.run();
        return (System.nanoTime() - start) / 1e6;
    }

    private static double median(double[] values) {
        double[] t = values.clone();
        Arrays.sort(t);
        return t[t.length / 2];
    }
}
