package dev.retort.study;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.ModelRef;
import dev.retort.api.run.RunConfig;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import dev.retort.api.tap.TapNames;
import dev.retort.nn.CastWeights;
import dev.retort.nn.NativeHeap;
import dev.retort.osgi.ServiceLookup;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * {@code kd:bench}: a short run on synthetic data at a given input size; after a warm-up, the mean time per step
 * of each phase (data, teacher forward, student forward, module forward, backward, optimizer), images/s, the peak
 * JVM heap and peak resident (native + heap) memory of the process, the bytes a step's arrays hold at its high-water mark, and utilisation: the arithmetic rate the teacher
 * forward and the whole step achieve (FLOPs from the backbones' cost counters, attention products included) as a
 * share of the dense matrix-product rate measured in the same process, on the same device, in the same precision.
 * With methods, one run per method alone and a student-only baseline give each method's module forward and
 * (estimated) backward time as a share of its step.
 */
public final class TrainBench {
    /** Side of the square matrices whose product rate is the reference (as the project's other benchmarks). */
    static final int GEMM_SIDE = 2048;

    private final Runner runner;
    private final BundleContext context;
    private final Engine engine;

    public TrainBench(Runner runner, BundleContext context, Engine engine) {
        this.runner = runner;
        this.context = context;
        this.engine = engine;
    }

    /** TransKD-Base, MiT-B2 → MiT-B0, batch 2. */
    public static Map<String, Object> defaultRun() {
        return new TreeMap<>(Map.of("name", "bench", "teacher", "mit-b2", "student", "mit-b0", "modules", "csf,pea", "dataset", "synthetic",
                "batch_size", "2"));
    }

    /**
     * One benchmarked run.
     *
     * @param phases        mean milliseconds per step by phase
     * @param teacherFlops  floating-point operations of one teacher forward of the batch, as far as the run computed it
     *                      (0 without a teacher or modules)
     * @param teacherTaps   the teacher's taps the timed steps computed
     * @param studentFlops  of one student forward of the batch (a training step does about three times that)
     * @param transfers     host transfers per timed step as the run counted them ({@code uploads}, {@code reads},
     *                      {@code syncs}: {@link RunResult#stepTransfers()})
     */
    record Measurement(RunConfig config, List<String> modules, String device, int batch, int height, int width, int warmup, int steps,
                       Map<String, Double> phases, double heapMb, double rssMb, double stepArraysMb, long teacherFlops, long studentFlops, Map<String, Double> transfers,
                       Set<String> teacherTaps) {
        double stepMs() {
            return phases.values().stream().mapToDouble(Double::doubleValue).sum();
        }

        double phase(String name) {
            return phases.getOrDefault(name, 0.0);
        }

        /** FLOPs of a step the counters see: teacher forward, student forward and its backward (twice the forward). */
        long stepFlops() {
            return teacherFlops + 3 * studentFlops;
        }
    }

    /** The measurement of one run, printed. */
    public String run(Map<String, Object> base, int height, int width, int warmup, int steps) throws IOException, InterruptedException {
        Measurement m = measure(base, height, width, warmup, steps);
        Gemm teacher = gemm(engine, teacherPrecision(base));
        String student = studentPrecision(base);
        Gemm studentGemm = student.equals(teacher.precision()) ? teacher : gemm(engine, student);
        return format(m) + allocator() + utilisation(m, teacher, studentGemm);
    }

    /** What the native allocator does with freed tensor memory (peak RSS depends on it), as the engine service says. */
    private String allocator() {
        Object said = null;
        try {
            for (ServiceReference<Engine> r : context.getServiceReferences(Engine.class, "(engine.name=PyTorch)")) {
                said = r.getProperty("engine.allocator");
                if (said != null) break;
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        return String.format("  %-16s %s%n", "allocator", said == null ? "unknown (the engine service does not say)" : said)
                + String.format("  %-16s %s%n", "", NativeHeap.describe());
    }

    /**
     * Each method alone against a student-only baseline: module forward as measured; module backward estimated as the
     * method run's backward minus the baseline's (the student's own backward is the same in both).
     */
    public String methods(Map<String, Object> base, List<String> methods, int height, int width, int warmup, int steps, PrintStream progress)
            throws IOException, InterruptedException {
        if (methods.isEmpty()) throw new RetortConfigException("--methods names no method");
        Map<String, Object> alone = new TreeMap<>(base);
        alone.put("modules", "none");
        progress.printf("baseline: the student alone (%dx%d)%n", height, width);
        Measurement baseline = measure(alone, height, width, warmup, steps);
        Map<String, Measurement> runs = new LinkedHashMap<>();
        Map<String, String> failed = new LinkedHashMap<>();
        for (String method : methods) {
            Map<String, Object> one = new TreeMap<>(base);
            one.put("modules", method);
            progress.printf("method %s (%d of %d)%n", method, runs.size() + failed.size() + 1, methods.size());
            try {
                runs.put(method, measure(one, height, width, warmup, steps));
            } catch (IllegalStateException | IllegalArgumentException e) {  // e.g. a refiner alone, without its port: said, not hidden
                failed.put(method, e.getMessage());
            }
        }
        if (runs.isEmpty()) throw new IllegalStateException("no method could run alone: " + failed);
        Measurement first = runs.values().iterator().next();
        StringBuilder b = new StringBuilder(String.format("module time by method, %s -> %s, batch %d, %dx%d, %s, mean of %d steps after %d warm-up%n",
                variant(first.config().teacher()), variant(first.config().student()), first.batch(), height, width, first.device(), steps, warmup));
        b.append(String.format("  %-10s %10s %7s %12s %7s %10s %10s%n", "method", "module fwd", "share", "module bwd*", "share", "step", "teacher"));
        b.append(String.format("  %-10s %10s %7s %12s %7s %9.1f ms %10s%n", "(student)", "-", "-", "-", "-", baseline.stepMs(), "-"));
        runs.forEach((method, m) -> {
            double step = m.stepMs(), fwd = m.phase("module forward"), bwd = m.phase("backward") - baseline.phase("backward");
            b.append(String.format("  %-10s %7.1f ms %6.1f%% %9.1f ms %6.1f%% %7.1f ms %6.1f%%%n", method, fwd, 100 * fwd / step, bwd, 100 * bwd / step,
                    step, 100 * m.phase("teacher forward") / step));
        });
        b.append(String.format("  * backward of the method's run minus the student-only run's (%.1f ms); a negative figure is within the noise%n",
                baseline.phase("backward")));
        b.append("  shares are of the method's own step; teacher = the frozen teacher's forward\n");
        failed.forEach((method, why) -> b.append(String.format("  %-10s could not run alone: %s%n", method, why)));
        return b.toString();
    }

    private Measurement measure(Map<String, Object> base, int height, int width, int warmup, int steps) throws IOException, InterruptedException {
        int batch = runner.plan(base).config().optimisation().batchSize();
        Path out = Files.createTempDirectory("retort-bench");
        Map<String, Object> description = new TreeMap<>(base);
        description.putAll(Map.of("data.height", height, "data.width", width, "data.train_size", Math.max(4, (warmup + steps) * batch),
                "data.val_size", batch, "iterations", warmup + steps, "eval_every", 1_000_000, "eval_batches", 1, "log_every", 1_000_000,
                "output", out.toString(), "decay_per", "iteration"));
        PeakRss.reset();
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
        return new Measurement(config, t.status().activeModules(), t.status().device(), batch, height, width, warmup, steps,
                r.stepPhases(), heapPeak / 1e6, PeakRss.megabytes(), r.stepArrayBytes() < 0 ? -1 : r.stepArrayBytes() / 1e6, batch * teacherFlops(config.teacher(), height, width, r.teacherTaps()), batch * flops(config.student(), height, width, null),
                r.stepTransfers(), r.teacherTaps());
    }

    /** The teacher's FLOPs of one image for the taps it computed: none when it computed none (no module ran). */
    private long teacherFlops(ModelRef teacher, int height, int width, Set<String> taps) {
        return taps.isEmpty() ? 0 : flops(teacher, height, width, taps);
    }

    /**
     * 2 × (multiply-accumulates + attention products) of one image, by the backbone service that builds the variant: of
     * the forward that gives {@code taps}, or of the whole network when null.
     */
    private long flops(ModelRef model, int height, int width, Set<String> taps) {
        if (model == null) return 0;
        ModelCost cost = ServiceLookup.withFirst(context, Backbone.class, ServiceLookup.equalsFilter(Backbone.VARIANTS_PROPERTY, model.variant()),
                b -> taps == null ? b.cost(model.variant(), model.config(), height, width)
                        : b.cost(model.variant(), model.config(), height, width, taps)).orElseThrow(() ->
                new IllegalStateException("no backbone service builds " + model.variant() + " any more"));
        return 2 * (cost.macs() + cost.attentionMacs());
    }

    static String format(Measurement m) {
        double stepMs = m.stepMs();
        StringBuilder b = new StringBuilder(String.format("%s -> %s, modules %s, batch %d, %dx%d, %s, mean of %d steps after %d warm-up%n",
                variant(m.config().teacher()), variant(m.config().student()), m.modules(), m.batch(), m.height(), m.width(), m.device(), m.steps(), m.warmup()));
        m.phases().forEach((k, v) -> b.append(String.format("  %-16s %9.1f ms  %5.1f%%%n", k, v, 100 * v / stepMs)));
        b.append(String.format("  %-16s %9.1f ms%n", "step", stepMs));
        b.append(String.format("  %-16s %9.2f%n", "images/s", m.batch() * 1000 / stepMs));
        b.append(String.format("  %-16s %9.0f MB%n", "peak heap", m.heapMb()));
        b.append(String.format("  %-16s %9.0f MB  (process, native + heap)%n", "peak RSS", m.rssMb()));
        if (m.stepArraysMb() >= 0) {
            b.append(String.format("  %-16s %9.1f MB  (the step's arrays held through handles, most at a phase end; what autograd saved"
                    + " for the backward is libtorch's and not counted)%n", "step arrays", m.stepArraysMb()));
        }
        b.append(transfers(m.transfers()));
        if (!m.teacherTaps().isEmpty()) {
            b.append(String.format("  %-16s %s%s%n", "teacher taps", String.join(", ", m.teacherTaps()),
                    m.teacherTaps().contains(TapNames.LOGITS) ? "" : " (no module reads the teacher's logits: its decode head is not run)"));
        }
        return b.toString();
    }

    /**
     * The host transfers per step, as counted over the timed steps (each one waits for a GPU's queue): uploads (the
     * batch's images and labels; with the teacher cache on, each cached tap too) and reads (the step's one stacked read
     * of loss terms and gradient flags), and the timers' own waits, which only a GPU makes.
     */
    static String transfers(Map<String, Double> perStep) {
        if (perStep.isEmpty()) return String.format("  %-16s none counted (no timed step)%n", "host transfers");
        double up = perStep.getOrDefault("uploads", 0.0), read = perStep.getOrDefault("reads", 0.0), sync = perStep.getOrDefault("syncs", 0.0);
        return String.format("  %-16s %9.2f per step: %.2f uploads, %.2f reads (counted over the timed steps)%s%n", "host transfers", up + read, up, read,
                sync > 0 ? String.format(", and %.2f timer syncs", sync) : "");
    }

    /**
     * Achieved GFLOP/s of the teacher forward against the product rate in the teacher's precision, and of the step
     * against the rate in each precision its products run in (two when the student's differs from the teacher's).
     */
    static String utilisation(Measurement m, Gemm teacher, Gemm student) {
        StringBuilder b = new StringBuilder();
        for (Gemm g : teacher == student ? List.of(teacher) : List.of(teacher, student)) {
            b.append(String.format("  utilisation (dense %s product %dx%d on %s: %.1f GFLOP/s in this process)%n", g.precision(), GEMM_SIDE,
                    GEMM_SIDE, g.device(), g.gflops()));
        }
        double teacherMs = m.phase("teacher forward");
        if (m.teacherFlops() > 0 && teacherMs > 0) {
            double rate = m.teacherFlops() / teacherMs / 1e6;
            b.append(String.format("  %-16s %9.1f GFLOP/s  %5.1f%% of the %s product rate  (%.2f GFLOP per batch)%n", "teacher forward", rate,
                    100 * rate / teacher.gflops(), teacher.precision(), m.teacherFlops() / 1e9));
        }
        double rate = m.stepFlops() / m.stepMs() / 1e6;
        String shares = teacher == student ? String.format("%5.1f%% of the %s product rate", 100 * rate / teacher.gflops(), teacher.precision())
                : String.format("%5.1f%% of the %s, %.1f%% of the %s product rate", 100 * rate / teacher.gflops(), teacher.precision(),
                        100 * rate / student.gflops(), student.precision());
        b.append(String.format("  %-16s %9.1f GFLOP/s  %s  (%.2f GFLOP per step: teacher forward, student forward"
                + " and backward as 2x forward; modules not counted)%n", "step", rate, shares, m.stepFlops() / 1e9));
        return b.toString();
    }

    /** A dense matrix-product rate measured here and now. */
    record Gemm(String precision, String device, double gflops) {}

    /** The precision of the teacher's products: {@code teacher.precision}, float32 by default. */
    static String teacherPrecision(Map<String, Object> description) {
        Object p = description.get("teacher.precision");
        return p == null ? "fp32" : p.toString().strip();
    }

    /** The precision of the student's products: bf16 under {@code precision = bf16-mixed}, else fp32. */
    static String studentPrecision(Map<String, Object> description) {
        Object p = description.get("precision");
        return p != null && p.toString().strip().equals("bf16-mixed") ? "bf16" : "fp32";
    }

    /**
     * The rate of {@value #GEMM_SIDE}² matrix products on the engine's default device in {@code precision}
     * (fp32, bf16 or fp16): the best of 5 after a warm-up, as libtorch's own GEMM runs it (bfloat16 through
     * {@code nn}'s {@code BFloat16}). A product slower than 5 s (bfloat16 on a CPU without bfloat16 kernels) is timed
     * once after the warm-up.
     */
    static Gemm gemm(Engine engine, String precision) {
        DataType type = switch (precision) {
            case "fp32" -> DataType.FLOAT32;
            case "bf16" -> DataType.BFLOAT16;
            case "fp16" -> DataType.FLOAT16;
            default -> throw new RetortConfigException("teacher.precision must be fp32, bf16 or fp16, got '" + precision + "'");
        };
        try (NDManager m = engine.newBaseManager()) {
            Device device = m.getDevice();
            NDArray a = CastWeights.to(m.randomNormal(new Shape(GEMM_SIDE, GEMM_SIDE)), type);
            NDArray c = CastWeights.to(m.randomNormal(new Shape(GEMM_SIDE, GEMM_SIDE)), type);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 6; i++) {
                long t0 = System.nanoTime();
                try (NDArray p = a.matMul(c)) {
                    CastWeights.toFloat32(p).sum().getFloat();  // waits for the product (asynchronous devices)
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                if (i > 0) best = Math.min(best, seconds);
                if (seconds > 5 && i > 0) break;
            }
            return new Gemm(precision, device.toString(), 2.0 * GEMM_SIDE * GEMM_SIDE * GEMM_SIDE / best / 1e9);
        }
    }

    private static String variant(ModelRef m) {
        return m == null ? "-" : m.variant();
    }
}
