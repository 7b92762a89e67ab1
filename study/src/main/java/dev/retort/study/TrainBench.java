package dev.retort.study;

import dev.retort.api.run.RunConfig;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code kd:bench}: a short run on synthetic data at a given input size; after a warm-up, the mean time per step
 * of each phase (data, teacher forward, student forward, module forward, backward, optimizer), images/s, and the
 * peak JVM heap and peak resident (native + heap) memory of the process.
 */
public final class TrainBench {
    private final Runner runner;

    public TrainBench(Runner runner) {
        this.runner = runner;
    }

    /** TransKD-Base, MiT-B2 → MiT-B0, batch 2. */
    public static Map<String, Object> defaultRun() {
        return new TreeMap<>(Map.of("name", "bench", "teacher", "mit-b2", "student", "mit-b0", "modules", "csf,pea", "dataset", "synthetic",
                "batch_size", "2"));
    }

    public String run(Map<String, Object> base, int height, int width, int warmup, int steps) throws IOException, InterruptedException {
        int batch = runner.plan(base).config().optimisation().batchSize();
        Path out = Files.createTempDirectory("retort-bench");
        Map<String, Object> description = new TreeMap<>(base);
        description.putAll(Map.of("data.height", height, "data.width", width, "data.train_size", Math.max(4, (warmup + steps) * batch),
                "data.val_size", batch, "iterations", warmup + steps, "eval_every", 1_000_000, "eval_batches", 1, "log_every", 1_000_000,
                "output", out.toString(), "decay_per", "iteration"));
        resetPeakRss();
        TrainingRun t = runner.start(new RunRequest(description, null, false, null, null, warmup));
        long heapPeak = 0;
        CompletableFuture<RunResult> done = t.completion().toCompletableFuture();
        while (!done.isDone()) {  // samples the heap while the run runs (a measurement, not a wait for the run's state)
            heapPeak = Math.max(heapPeak, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
            try {
                done.get(20, TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // sample again
            }
        }
        RunResult r = done.join();
        if (r.state() == RunState.FAILED) throw new IllegalStateException("benchmark run failed: " + r.failure());
        RunConfig config = t.config();
        Map<String, Double> phases = r.stepPhases();
        double stepMs = phases.values().stream().mapToDouble(Double::doubleValue).sum();
        StringBuilder b = new StringBuilder(String.format("%s -> %s, modules %s, batch %d, %dx%d, %s, mean of %d steps after %d warm-up%n",
                config.teacher() == null ? "-" : config.teacher().variant(), config.student().variant(), t.status().activeModules(), batch,
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
