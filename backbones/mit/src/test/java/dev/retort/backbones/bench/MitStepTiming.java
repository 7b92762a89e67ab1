package dev.retort.backbones.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.sun.management.OperatingSystemMXBean;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.backbones.mit.BenchAccess;
import dev.retort.runtime.DjlRuntime;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Timing harness (not a test): one training step's forward + backward of a MiT network, batch 2, median and
 * quartiles over repeated steps; on a shared machine the process's CPU time
 * (all threads) is the figure least disturbed by other load, and the minimum of the wall times the next. Arguments: [variant] [HxW] [steps], default mit-b0 128x256 20.
 *
 * <pre>mvn -B -o -q -pl backbones/mit test-compile exec:java@bench -Dexec.mainClass=dev.retort.backbones.bench.MitStepTiming</pre>
 */
public final class MitStepTiming {
    private static final int WARMUP = 3;

    public static void main(String[] args) {
        String variant = args.length > 0 ? args[0] : "mit-b0";
        String[] hw = (args.length > 1 ? args[1] : "128x256").split("x");
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        Engine engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
        engine.setRandomSeed(5);
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = BenchAccess.backbone().build(variant, Map.of(), m, 1)) {
            NDArray image = m.randomUniform(0, 1, new Shape(2, 3, Long.parseLong(hw[0]), Long.parseLong(hw[1])));
            double[] t = new double[steps], cpu = new double[steps];
            for (int i = -WARMUP; i < steps; i++) {
                long start = System.nanoTime(), cpuStart = os.getProcessCpuTime();
                try (NDManager step = m.newSubManager(); GradientCollector c = engine.newGradientCollector()) {
                    NDArray x = image.duplicate();
                    x.attach(step);
                    c.backward(net.forward(x, true).get("logits").mean());
                }
                if (i >= 0) {
                    t[i] = (System.nanoTime() - start) / 1e6;
                    cpu[i] = (os.getProcessCpuTime() - cpuStart) / 1e6;
                }
            }
            Arrays.sort(t);
            Arrays.sort(cpu);
            System.out.printf("%s 2x3x%sx%s forward+backward: min %.1f ms, median %.1f ms (quartiles %.1f / %.1f); process CPU time min %.1f ms, median %.1f ms; %d steps, %d CPUs%n",
                    variant, hw[0], hw[1], t[0], t[steps / 2], t[steps / 4], t[3 * steps / 4], cpu[0], cpu[steps / 2], steps,
                    Runtime.getRuntime().availableProcessors());
        }
    }
}
