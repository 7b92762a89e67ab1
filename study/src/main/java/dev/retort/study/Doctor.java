package dev.retort.study;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.util.cuda.CudaUtils;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import dev.retort.nn.Devices;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * {@code kd:doctor}: what a user runs first on a new machine, as {@code python -m torch.utils.collect_env} and a smoke
 * test in one. It reports the natives (flavor, folder, version, CUDA, cuDNN), the devices, the CPU's bfloat16
 * instructions and the precision it recommends; then, on each GPU, a tiny teacher/student run with every registered
 * distiller against the same run on the CPU (same weights: initialisation is drawn in Java; drop path and dropout off),
 * and on every device 20 training steps of a tiny run twice with one seed: finite, repeatable (identical on the CPU,
 * the difference reported on a GPU), with the step time and the peak memory. It passes only when every check passed;
 * each failure says what to do.
 */
final class Doctor {
    /** Relative tolerance of a GPU's losses against the CPU's: TF32 products (10-bit mantissa) and reordered sums. */
    static final double CROSS_DEVICE_RTOL = 2e-2;
    static final int STEPS = 20, CROSS_DEVICE_STEPS = 3;

    /** One check: passed or not, what was seen, and what to do when it failed. */
    record Check(String name, boolean passed, String detail, String todo) {}

    private final Runner runner;
    private final Engine engine;
    private final Map<String, Object> natives;
    private final PrintStream progress;
    /** Run keys that keep a tiny run tiny with the distillers present (e.g. a preparation phase cut to 2 steps). */
    private final Map<String, Object> shorten;
    private final List<Check> checks = new ArrayList<>();
    private final StringBuilder out = new StringBuilder();

    Doctor(Runner runner, Engine engine, Map<String, Object> natives, Map<String, Object> shorten, PrintStream progress) {
        this.runner = runner;
        this.shorten = Map.copyOf(shorten);
        this.engine = engine;
        this.natives = natives;
        this.progress = progress;
    }

    List<Check> checks() {
        return checks;
    }

    boolean passed() {
        return checks.stream().allMatch(Check::passed);
    }

    /** Runs every check with run folders under {@code work}; the report. */
    String run(Path work) throws IOException, InterruptedException {
        out.append("Retort doctor\n");
        section("natives");
        line("flavor", value("engine.flavor"));
        line("folder", value("engine.library"));
        line("version", "libtorch " + engine.getVersion() + " (DJL " + Engine.getDjlVersion() + ")");
        line("CUDA", value("engine.cuda"));
        line("cuDNN", value("engine.cudnn"));
        int gpus = Devices.gpuCount(engine);
        boolean cudaBuild = engine.hasCapability(StandardCapabilities.CUDA);
        check("natives", !cudaBuild || gpus > 0, cudaBuild ? "CUDA build, " + gpus + " usable GPU(s)" : "CPU build",
                "the CUDA natives see no GPU: read the CUDA line above; nvidia-smi shows what the driver sees; until then runs train on the CPU");

        section("devices");
        List<Device> devices = new ArrayList<>(List.of(Device.cpu()));
        line("cpu", cpuName() + ", " + Runtime.getRuntime().availableProcessors() + " threads");
        for (int i = 0; i < gpus; i++) {
            devices.add(Device.gpu(i));
            line("gpu(" + i + ")", "compute capability " + computeCapability(i));
        }
        List<String> flags = cpuFlags();
        line("cpu flags", Stream.of("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
                .map(f -> f + (flags.contains(f) ? "+" : "-")).reduce((a, b) -> a + " " + b).orElse("") + (flags.isEmpty() ? " (no /proc/cpuinfo)" : ""));
        line("precision", recommendation(gpus, flags));

        section("each GPU against the CPU (tiny MiT-B2 -> MiT-B0 with every registered distiller, " + CROSS_DEVICE_STEPS
                + " steps, drop path and dropout off; losses within " + CROSS_DEVICE_RTOL + " relative: TF32 products allowed)");
        if (gpus == 0) {
            line("skipped", "no GPU: nothing to compare against the CPU");
        } else {
            RunResult cpu = tinyRun(work.resolve("cross-cpu"), "cpu", CROSS_DEVICE_STEPS, false);
            for (int i = 0; i < gpus; i++) crossDevice(cpu, tinyRun(work.resolve("cross-gpu" + i), "gpu:" + i, CROSS_DEVICE_STEPS, false), "gpu(" + i + ")");
        }

        section("training on each device (" + STEPS + " steps of a tiny run, twice with one seed)");
        for (Device d : devices) training(work, d);

        out.append(passed() ? "PASS" : "FAIL").append(": ").append(checks.stream().filter(Check::passed).count()).append('/')
                .append(checks.size()).append(" checks passed\n");
        for (Check c : checks) {
            if (!c.passed()) out.append("  FAILED ").append(c.name()).append(": ").append(c.detail()).append("\n    what to do: ").append(c.todo()).append('\n');
        }
        return out.toString();
    }

    private void crossDevice(RunResult cpu, RunResult gpu, String name) {
        double worst = 0;
        for (int s = 0; s < Math.min(cpu.totalLosses().size(), gpu.totalLosses().size()); s++) {
            worst = Math.max(worst, relative(gpu.totalLosses().get(s), cpu.totalLosses().get(s)));
            worst = Math.max(worst, relative(gpu.ceLosses().get(s), cpu.ceLosses().get(s)));
        }
        boolean same = cpu.totalLosses().size() == gpu.totalLosses().size();
        check(name + " vs cpu", same && worst <= CROSS_DEVICE_RTOL, String.format(Locale.ROOT, "loss terms of %d steps, worst relative difference %.2e",
                gpu.totalLosses().size(), worst), "the GPU computes other numbers than the CPU: check the CUDA/cuDNN versions above against libtorch "
                + engine.getVersion() + "'s, and train with device = cpu until this passes");
    }

    private void training(Path work, Device d) throws IOException, InterruptedException {
        String spec = d.isGpu() ? "gpu:" + d.getDeviceId() : "cpu";
        PeakRss.reset();
        RunResult a = tinyRun(work.resolve("train-" + spec.replace(':', '-') + "-a"), spec, STEPS, true);
        double rss = PeakRss.megabytes();
        String gpuMemory = d.isGpu() ? gpuMemory(d) : "";
        RunResult b = tinyRun(work.resolve("train-" + spec.replace(':', '-') + "-b"), spec, STEPS, true);
        boolean finite = a.totalLosses().stream().allMatch(Double::isFinite) && b.totalLosses().stream().allMatch(Double::isFinite);
        boolean identical = a.totalLosses().equals(b.totalLosses()) && a.ceLosses().equals(b.ceLosses());
        double worst = 0;
        for (int s = 0; s < Math.min(a.totalLosses().size(), b.totalLosses().size()); s++) worst = Math.max(worst, relative(a.totalLosses().get(s), b.totalLosses().get(s)));
        String name = d.isGpu() ? "gpu(" + d.getDeviceId() + ")" : "cpu";
        line(name, String.format(Locale.ROOT, "%d steps, loss %.4f -> %.4f, %.1f ms/step, peak RSS %.0f MB%s, second run %s", a.totalLosses().size(),
                first(a), last(a), a.meanStepMillis(), rss, gpuMemory, identical ? "identical" : String.format(Locale.ROOT, "differs by up to %.2e (relative)", worst)));
        check(name + " finite", finite && a.totalLosses().size() == STEPS, a.totalLosses().size() + " of " + STEPS + " steps, "
                + (finite ? "all finite" : "non-finite losses: " + a.totalLosses()), "the device computes NaN or infinity on a tiny run: run kd:parity on the"
                + " fixtures to find the operation, and train with device = cpu meanwhile");
        if (d.isGpu()) {
            check(name + " repeatable", true, identical ? "identical" : "differs (expected on a GPU: atomics in backward kernels)", "");
        } else {
            check(name + " repeatable", identical, identical ? "identical losses" : "losses differ between two runs with one seed",
                    "the CPU must repeat a run bit for bit: report it with both runs' metrics.jsonl (" + work + ")");
        }
    }

    /** A tiny run: MiT-B2/B0 shapes a few channels wide, 32×64 synthetic images, every registered distiller. */
    private RunResult tinyRun(Path out, String device, int steps, boolean stochastic) throws IOException, InterruptedException {
        progress.printf("doctor: %d steps on %s%n", steps, device);
        Map<String, Object> d = new TreeMap<>();
        d.putAll(Map.of("name", "doctor", "output", out.toString(), "seed", 3, "device", device, "dataset", "synthetic", "data.height", 32,
                "data.width", 64, "data.train_size", 16, "data.val_size", 2, "batch_size", 2));
        d.putAll(Map.of("iterations", steps, "eval_every", 1_000_000, "eval_batches", 1, "decay_per", "iteration", "log_every", 1, "threads",
                Math.min(4, Runtime.getRuntime().availableProcessors())));
        d.putAll(Map.of("teacher", "mit-b2", "teacher.embed_dims", "16,32,48,64", "teacher.depths", "1,1,1,1", "teacher.num_heads", "1,2,3,4",
                "teacher.decoder_dim", 32));
        d.putAll(Map.of("student", "mit-b0", "student.embed_dims", "8,16,24,32", "student.depths", "1,1,1,1", "student.num_heads", "1,2,3,4",
                "student.decoder_dim", 16));
        d.putAll(shorten);
        if (!stochastic) d.putAll(Map.of("student.drop_path_rate", 0, "student.head_dropout", 0, "teacher.drop_path_rate", 0, "teacher.head_dropout", 0));
        TrainingRun run = runner.start(new RunRequest(d, null, false, null, null, 1));
        RunResult r = run.completion().toCompletableFuture().join();
        if (r.state() != RunState.FINISHED) {
            throw new IllegalStateException("the doctor's tiny run on " + device + " did not complete (" + r.state() + "): " + r.failure());
        }
        return r;
    }

    private static double relative(double a, double b) {
        if (Double.isNaN(a) || Double.isNaN(b)) return Double.POSITIVE_INFINITY;
        return Math.abs(a - b) / Math.max(1e-12, Math.abs(b));
    }

    private static double first(RunResult r) {
        return r.totalLosses().isEmpty() ? Double.NaN : r.totalLosses().get(0);
    }

    private static double last(RunResult r) {
        return r.totalLosses().isEmpty() ? Double.NaN : r.totalLosses().get(r.totalLosses().size() - 1);
    }

    /** What precision to train in here: bf16-mixed where bfloat16 has hardware (GPU compute capability 8+, AVX-512 BF16/AMX), else fp32. */
    static String recommendation(int gpus, List<String> flags) {
        if (gpus > 0) {
            boolean ampere = true;
            for (int i = 0; i < gpus; i++) ampere &= compareCapability(computeCapability(i)) >= 80;
            return ampere ? "precision = bf16-mixed (bfloat16 tensor cores on every GPU; TF32 for what stays float32)"
                    : "fp32 (a GPU older than compute capability 8.0 has no bfloat16 tensor cores)";
        }
        if (flags.contains("amx_bf16") || flags.contains("avx512_bf16")) {
            return "bf16-mixed may pay off (this CPU has " + (flags.contains("amx_bf16") ? "AMX" : "AVX-512 BF16")
                    + "): compare kd:bench with and without --set precision=bf16-mixed";
        }
        return "fp32 (this CPU has no bfloat16 instructions: bf16-mixed makes a step 3.5-6x slower here)";
    }

    private static int compareCapability(String cc) {
        try {
            return Integer.parseInt(cc);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String computeCapability(int gpu) {
        try {
            return CudaUtils.getComputeCapability(gpu);
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    private static String gpuMemory(Device d) {
        try {
            return String.format(Locale.ROOT, ", GPU memory in use after the run %.0f MB (CUDA's count, not a peak)", CudaUtils.getGpuMemory(d).getUsed() / 1e6);
        } catch (RuntimeException | LinkageError e) {
            return ", GPU memory unknown (" + e.getMessage() + ")";
        }
    }

    static List<String> cpuFlags() {
        Path info = Path.of("/proc/cpuinfo");
        try {
            if (!Files.isReadable(info)) return List.of();
            try (Stream<String> lines = Files.lines(info)) {
                return lines.filter(l -> l.startsWith("flags")).findFirst().map(l -> List.of(l.substring(l.indexOf(':') + 1).strip().split("\\s+")))
                        .orElse(List.of());
            }
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String cpuName() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name")).findFirst().map(l -> l.substring(l.indexOf(':') + 1).strip())
                    .orElse(System.getProperty("os.arch"));
        } catch (IOException | RuntimeException e) {
            return System.getProperty("os.arch");
        }
    }

    private String value(String key) {
        Object v = natives.get(key);
        return v == null ? "unknown (the engine service does not say)" : v.toString();
    }

    private void check(String name, boolean passed, String detail, String todo) {
        checks.add(new Check(name, passed, detail, todo));
        out.append(String.format("  %-22s %s  %s%n", name, passed ? "ok  " : "FAIL", detail));
    }

    private void section(String title) {
        out.append(title).append('\n');
    }

    private void line(String key, String value) {
        out.append(String.format("  %-22s %s%n", key, value));
    }

    /** Deletes the doctor's run folders. */
    static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
