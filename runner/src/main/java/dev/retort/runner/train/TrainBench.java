package dev.retort.runner.train;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code kd:bench}: a short run on synthetic data at a given input size; after a warm-up, the mean time per step
 * of each phase (data, teacher forward, student forward, module forward, backward, optimizer), images/s, and the
 * peak JVM heap and peak resident (native + heap) memory of the process.
 */
public final class TrainBench {
    private final RunnerService runner;

    public TrainBench(RunnerService runner) {
        this.runner = runner;
    }

    /** TransKD-Base, MiT-B2 → MiT-B0, batch 2. */
    public static RunSettings defaultRun() {
        return RunSettings.of(Map.of("name", "bench", "teacher", "mit-b2", "student", "mit-b0", "modules", "csf,pea", "dataset", "synthetic",
                "batch_size", "2"));
    }

    public String run(RunSettings base, int height, int width, int warmup, int steps) throws IOException, InterruptedException {
        int batch = base.run().optimisation().batchSize();
        Path out = Files.createTempDirectory("retort-bench");
        RunSettings s = base.with(Map.of("data.height", height, "data.width", width, "data.train_size", Math.max(4, (warmup + steps) * batch),
                "data.val_size", batch, "iterations", warmup + steps, "eval_every", 1_000_000, "eval_batches", 1, "log_every", 1_000_000,
                "output", out.toString(), "decay_per", "iteration"));
        resetPeakRss();
        long heapPeak = 0;
        Trainer t = runner.start(s, null, new PrintStream(PrintStream.nullOutputStream()));
        t.resetTimingsAt(warmup);
        long started = 0;
        while (!t.finished()) {
            heapPeak = Math.max(heapPeak, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
            if (started == 0 && t.status().step() >= warmup) started = System.nanoTime();
            Thread.sleep(20);
        }
        if (t.status().state().equals("FAILED")) throw new IllegalStateException("benchmark run failed: " + t.failure().getMessage(), t.failure());
        Map<String, Double> phases = t.timings().meanMillis();
        double stepMs = phases.values().stream().mapToDouble(Double::doubleValue).sum();
        StringBuilder b = new StringBuilder(String.format("%s -> %s, modules %s, batch %d, %dx%d, %s, mean of %d steps after %d warm-up%n",
                s.run().teacher() == null ? "-" : s.run().teacher().variant(), s.run().student().variant(), t.status().activeModules(), batch,
                height, width, t.status().device(), steps, warmup));
        phases.forEach((k, v) -> b.append(String.format("  %-16s %9.1f ms  %5.1f%%%n", k, v, 100 * v / stepMs)));
        b.append(String.format("  %-16s %9.1f ms%n", "step", stepMs));
        b.append(String.format("  %-16s %9.2f%n", "images/s", batch * 1000 / stepMs));
        b.append(String.format("  %-16s %9.0f MB%n", "peak heap", heapPeak / 1e6));
        b.append(String.format("  %-16s %9.0f MB  (process, native + heap)%n", "peak RSS", peakRssMb()));
        return b.toString();
    }

    private static void resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException ignored) {
            // not Linux: the peak covers the whole process lifetime
        }
    }

    private static double peakRssMb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return -1;
        for (String line : Files.readAllLines(status)) if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
        return -1;
    }
}
