package dev.retort.runner.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Probe;
import dev.retort.api.run.ModelRef;
import dev.retort.api.run.ModuleRef;
import dev.retort.api.run.RunConfig;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunStatus;
import dev.retort.api.run.TrainingRun;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.Losses;
import dev.retort.nn.Ops;
import dev.retort.nn.Scalars;
import dev.retort.runner.data.Batch;
import dev.retort.runner.data.BatchLoader;
import dev.retort.runner.eval.ConfusionMatrix;
import dev.retort.runner.eval.Evaluation;
import dev.retort.runner.modules.ModuleSet;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One distillation run on its own thread: teacher frozen in evaluation mode and run without gradient, student in
 * training mode, loss = weighted cross-entropy + Σ weight·term of the active modules, AdamW, polynomial decay.
 * Module swaps, pauses and stops take effect at the next step boundary, never inside a step.
 */
public final class Trainer implements TrainingRun, Runnable {
    /** What a run needs from the service registry; implemented by the runner component. */
    public interface Services {
        Engine engine();

        Backbone backbone(String variant);

        SegmentationDataset dataset(String name);

        /** Currently registered distillers with a generation that changes when one is re-configured. */
        List<Registered> distillers();

        void publish(RunEvent event);
    }

    /** A registered distiller. */
    public record Registered(String name, Distiller distiller, long generation) {}

    private record Active(String name, Distiller distiller, long generation, DistillationModule module) {}

    private final String id;
    private final RunSettings settings;
    private final Services services;
    private final Path resume;
    private final PrintStream log;
    private final Set<String> disabled = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean modulesDirty = new AtomicBoolean(true);
    private final List<Double> losses = Collections.synchronizedList(new ArrayList<>());
    private final Timings timings = new Timings();
    /** Consecutive non-finite steps after which 'skip' gives up: the parameters themselves are then beyond repair. */
    static final int NON_FINITE_LIMIT = 20;
    private int nonFiniteInARow;
    private volatile long timingsFrom = -1;
    private volatile boolean stopRequested;
    private volatile boolean paused;
    private volatile String state = "STARTING";
    private volatile long step;
    private volatile int epoch;
    private volatile long totalSteps;
    private volatile Map<String, Double> lastLosses = Map.of();
    private volatile double imagesPerSecond;
    private volatile List<String> active = List.of();
    private volatile String deviceName = "?";
    private volatile Throwable failure;
    private volatile double bestMiou = -1;
    private volatile double lastMiou = -1;
    private volatile String lastEvaluationTable = "";

    // training state, touched by the training thread only
    private NDManager base;
    private SegmentationNetwork student;
    private SegmentationNetwork teacher;
    private List<Active> modules = new ArrayList<>();
    private ModuleSet moduleSet;
    private AdamW optimizer;
    private NDArray classWeights;
    private DatasetInfo info;
    private MetricsLog metrics;

    public Trainer(String id, RunSettings settings, Services services, Path resume, PrintStream log) {
        this.id = id;
        this.settings = settings;
        this.services = services;
        this.resume = resume;
        this.log = log;
    }

    // ---- control (any thread) ----------------------------------------------------------------------------------

    @Override
    public String id() {
        return id;
    }

    @Override
    public RunConfig config() {
        return settings.run();
    }

    public RunSettings settings() {
        return settings;
    }

    @Override
    public RunStatus status() {
        double left = imagesPerSecond > 0 ? (totalSteps - step) * settings.run().optimisation().batchSize() / imagesPerSecond : -1;
        return new RunStatus(state, step, epoch, lastLosses, imagesPerSecond, left < 0 ? null : Duration.ofSeconds((long) left), active, deviceName);
    }

    @Override
    public void pause() {
        paused = true;
    }

    @Override
    public void resume() {
        paused = false;
        synchronized (this) {
            notifyAll();
        }
    }

    @Override
    public void stop() {
        stopRequested = true;
        resume();
    }

    /** The registry changed: rebuild the module set at the next step boundary. */
    public void modulesChanged() {
        modulesDirty.set(true);
    }

    /** Leaves a module out of this run from the next step on ({@code kd:disable}). */
    public void disable(String module) {
        disabled.add(module);
        modulesDirty.set(true);
    }

    public void enable(String module) {
        disabled.remove(module);
        modulesDirty.set(true);
    }

    public Set<String> disabledModules() {
        return Set.copyOf(disabled);
    }

    /** Total loss of every step done so far, in order. */
    public List<Double> lossHistory() {
        synchronized (losses) {
            return List.copyOf(losses);
        }
    }

    public Throwable failure() {
        return failure;
    }

    public double bestMiou() {
        return bestMiou;
    }

    public double lastMiou() {
        return lastMiou;
    }

    public String lastEvaluationTable() {
        return lastEvaluationTable;
    }

    public Timings timings() {
        return timings;
    }

    /** Restarts the step timings when the run reaches {@code step} (benchmarks skip the warm-up). */
    public void resetTimingsAt(long step) {
        timingsFrom = step;
    }

    public boolean finished() {
        return state.equals("FINISHED") || state.equals("FAILED") || state.equals("STOPPED");
    }

    // ---- the run (training thread) -----------------------------------------------------------------------------

    @Override
    public void run() {
        try {
            GradMode.offForThisThread();
            train();
            state = stopRequested ? "STOPPED" : "FINISHED";
            event(RunEvent.Type.FINISHED, Map.of("best_miou", bestMiou), state.toLowerCase() + " after " + step + " steps");
        } catch (NonFiniteLoss t) {
            failure = t;
            state = "STOPPED";
            event(RunEvent.Type.FAILED, Map.of(), describe(t));
        } catch (Throwable t) {
            failure = t;
            state = "FAILED";
            log("FAILED at step " + step + ": " + describe(t));
            event(RunEvent.Type.FAILED, Map.of(), describe(t));
        } finally {
            closeAll();
        }
    }

    private void train() throws IOException {
        RunConfig run = settings.run();
        Engine engine = services.engine();
        Device device = device(engine, run.device());
        deviceName = device.toString();
        base = engine.newBaseManager(device);
        metrics = new MetricsLog(settings.output(), resume != null);
        metrics.writeRunFile(settings.toFileText());
        log("run " + id + " on " + device + " -> " + settings.output());

        student = build(run.student(), "student", LoadMode.STRICT);
        if (run.teacher() != null) {
            teacher = build(run.teacher(), "teacher", LoadMode.STRICT);
            log("teacher " + run.teacher().variant() + ": frozen, evaluation mode (BatchNorm running statistics, no dropout),"
                    + " forward without gradient; its outputs are constants for the losses");
        } else {
            log("no teacher: student-only baseline (modules are not used)");
        }
        SegmentationDataset dataset = services.dataset(run.data().dataset());
        try (SampleSource train = dataset.open(request(run.data().trainSplit(), true));
             SampleSource val = dataset.open(request(run.data().valSplit(), false));
             BatchLoader loader = new BatchLoader(train, run.optimisation().batchSize(), false, settings.threads(), settings.prefetch());
             BatchLoader valLoader = new BatchLoader(val, run.optimisation().batchSize(), false, settings.threads(), settings.prefetch())) {
            info = train.info();
            if (student.spec().classes() != info.outputs()) {
                throw new IllegalArgumentException("student " + run.student().variant() + " has " + student.spec().classes() + " outputs but "
                        + dataset.name() + " (" + run.data().protocol() + " protocol) needs " + info.outputs() + "; set student.num_classes = " + info.outputs());
            }
            classWeights = base.create(info.classWeights());
            optimizer = new AdamW(base, run.optimisation().weightDecay());
            int perEpoch = loader.batches();
            totalSteps = run.optimisation().iterations() > 0 ? run.optimisation().iterations() : (long) run.optimisation().epochs() * perEpoch;
            rebuildModules();
            if (resume != null) restore(resume);
            state = "RUNNING";
            event(RunEvent.Type.STARTED, Map.of("total_steps", (double) totalSteps), "run " + id);
            Progress progress = new Progress(log, totalSteps);
            BatchLoader.Epoch current = null;
            int currentEpoch = -1;
            try {
                while (step < totalSteps) {
                    if (!boundary()) break;
                    if (step == timingsFrom) timings.reset();
                    int e = (int) (step / perEpoch) + 1, b = (int) (step % perEpoch);
                    epoch = e;
                    if (current == null || e != currentEpoch) {
                        if (current != null) current.close();
                        current = loader.epoch(run.seed(), e, true, b);
                        currentEpoch = e;
                    }
                    double lr = learningRate(e);
                    long t0 = System.nanoTime();
                    Batch batch = current.next();
                    timings.add("data", System.nanoTime() - t0);
                    stepOnce(batch, lr);
                    step++;
                    long stepNanos = System.nanoTime() - t0;
                    imagesPerSecond = imagesPerSecond == 0 ? batch.size() / (stepNanos / 1e9)
                            : 0.9 * imagesPerSecond + 0.1 * batch.size() / (stepNanos / 1e9);
                    progress.update(step, lastLosses.getOrDefault("total", Double.NaN), imagesPerSecond, settings.run().optimisation().batchSize());
                    boolean epochEnd = step % perEpoch == 0;
                    boolean evalDue = run.optimisation().iterations() > 0 ? step % run.optimisation().evalEvery() == 0
                            : epochEnd && e % run.optimisation().evalEvery() == 0;
                    if (evalDue || step == totalSteps) evaluate(valLoader);
                    if (settings.checkpointEvery() > 0 && step % settings.checkpointEvery() == 0) checkpoint("last.safetensors");
                }
            } finally {
                if (current != null) current.close();
                progress.done();
            }
            checkpoint("last.safetensors");
        }
    }

    private DatasetRequest request(String split, boolean train) {
        Map<String, Object> options = new LinkedHashMap<>(settings.run().data().options());
        options.putIfAbsent("augment", train);
        return new DatasetRequest(settings.run().data().root(), split, settings.run().data().protocol(), options);
    }

    private SegmentationNetwork build(ModelRef ref, String role, LoadMode mode) throws IOException {
        Backbone backbone = services.backbone(ref.variant());
        SegmentationNetwork net = backbone.build(ref.variant(), ref.config(), base, settings.run().seed() + (role.equals("teacher") ? 1 : 0));
        if (ref.weights() != null) {
            var report = net.load(ref.weights(), mode);
            log(role + " " + ref.variant() + ": " + report.loaded() + " tensors from " + ref.weights() + " (" + report.naming() + " naming)");
            report.warnings().forEach(w -> log("WARNING " + role + " weights: " + w));
        } else {
            log(role + " " + ref.variant() + ": initialised from seed (no weights)");
        }
        return net;
    }

    private static Device device(Engine engine, String spec) {
        if (spec.equals("cpu")) return Device.cpu();
        if (spec.startsWith("gpu")) {
            int n = spec.contains(":") ? Integer.parseInt(spec.substring(4)) : 0;
            if (n >= engine.getGpuCount()) throw new IllegalArgumentException("device " + spec + ": " + engine.getGpuCount() + " GPU(s) found");
            return Device.gpu(n);
        }
        return engine.getGpuCount() > 0 ? Device.gpu(0) : Device.cpu();
    }

    /** Polynomial decay, power 1: lr·(1 − e/decay_steps) per epoch (reference), or per iteration. */
    double learningRate(int epochIndex) {
        var opt = settings.run().optimisation();
        double progress = opt.decayPerEpoch() ? epochIndex : step;
        return opt.learningRate() * Math.max(0, 1 - progress / Math.max(1, opt.decaySteps()));
    }

    /** Pause, stop and module swaps happen here, between steps. Returns false to stop. */
    private boolean boundary() {
        while (paused && !stopRequested) {
            if (!state.equals("PAUSED")) {
                state = "PAUSED";
                log("paused at step " + step);
                event(RunEvent.Type.PAUSED, Map.of(), "paused");
            }
            synchronized (this) {
                try {
                    wait(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    stopRequested = true;
                }
            }
        }
        if (state.equals("PAUSED")) {
            state = "RUNNING";
            log("resumed at step " + step);
            event(RunEvent.Type.RESUMED, Map.of(), "resumed");
        }
        if (stopRequested) {
            log("stop requested: stopping at step " + step);
            return false;
        }
        if (modulesDirty.getAndSet(false)) rebuildModules();
        return true;
    }

    /** Builds the wanted module set, keeping modules whose distiller and configuration are unchanged. */
    private void rebuildModules() {
        if (teacher == null) {
            active = List.of();
            optimizer.parameters(allParameters());
            return;
        }
        Map<String, Registered> registered = new TreeMap<>();
        for (Registered r : services.distillers()) {
            if (r.distiller().enabled()) registered.putIfAbsent(r.name(), r);
        }
        Map<String, Map<String, ?>> wanted = new LinkedHashMap<>();
        if (settings.followRegistry()) {
            registered.keySet().forEach(n -> wanted.put(n, Map.of()));
        } else {
            for (ModuleRef m : settings.run().modules()) {
                if (registered.containsKey(m.distiller())) wanted.put(m.distiller(), m.config());
            }
        }
        disabled.forEach(wanted::remove);
        List<String> before = modules.stream().map(Active::name).toList();
        List<Active> next = new ArrayList<>();
        for (Active a : modules) {
            Registered r = registered.get(a.name());
            if (wanted.containsKey(a.name()) && r != null && r.distiller() == a.distiller() && r.generation() == a.generation()) next.add(a);
            else a.module().close();
        }
        for (Map.Entry<String, Map<String, ?>> w : wanted.entrySet()) {
            if (next.stream().anyMatch(a -> a.name().equals(w.getKey()))) continue;
            Registered r = registered.get(w.getKey());
            try {
                DistillationModule m = r.distiller().build(new DistillContext(teacher.spec().taps(), student.spec().taps(), w.getValue(), base, settings.run().seed()));
                next.add(new Active(r.name(), r.distiller(), r.generation(), m));
            } catch (RuntimeException e) {
                log("module " + w.getKey() + " cannot be built and is left out: " + e.getMessage());
            }
        }
        next.sort((a, b) -> a.name().compareTo(b.name()));
        while (true) {
            List<String> orphans = ModuleSet.unwired(next.stream().map(Active::module).toList());
            if (orphans.isEmpty()) break;
            for (String o : orphans) log("module " + o + " refines a port no active module offers; left out until one does");
            next.removeIf(a -> {
                boolean drop = orphans.contains(a.name());
                if (drop) a.module().close();
                return drop;
            });
        }
        modules = next;
        moduleSet = ModuleSet.of(modules.stream().map(Active::module).toList());
        active = modules.stream().map(Active::name).toList();
        optimizer.parameters(allParameters());
        if (!active.equals(before)) {
            long params = modules.stream().mapToLong(a -> ModuleSet.trainable(a.module())).sum();
            String message = "step " + step + ": modules " + before + " -> " + active + " (" + params + " training-only parameters)";
            log(message);
            event(RunEvent.Type.MODULES_CHANGED, Map.of("module_params", (double) params), message);
        }
    }

    private Map<String, Parameter> allParameters() {
        Map<String, Parameter> all = new LinkedHashMap<>();
        student.parameters().forEach((k, p) -> all.put("student." + k, p));
        if (moduleSet != null && teacher != null) all.putAll(moduleSet.parameters());
        return all;
    }

    private void stepOnce(Batch batch, double lr) {
        Engine engine = services.engine();
        try (NDManager sm = base.newSubManager()) {
            engine.setRandomSeed((int) (settings.run().seed() * 1_000_003L + step));  // dropout/drop path depend on seed and step only
            NDArray images = sm.create(batch.images(), new Shape(batch.size(), 3, batch.height(), batch.width()));
            long[] labelValues = new long[batch.labels().length];
            for (int i = 0; i < labelValues.length; i++) labelValues[i] = batch.labels()[i];
            NDArray labels = sm.create(labelValues, new Shape(batch.size(), batch.labelHeight(), batch.labelWidth()));
            long t = System.nanoTime();
            TapValues teacherTaps = teacher != null && !modules.isEmpty() ? teacher.forward(images, false) : null;
            timings.add("teacher forward", System.nanoTime() - t);
            Map<String, Double> terms = new LinkedHashMap<>();
            NDArray total;
            try (GradientCollector collector = engine.newGradientCollector()) {
                t = System.nanoTime();
                TapValues studentTaps = student.forward(images, true);
                NDArray logits = studentTaps.get(TapNames.LOGITS);
                if (logits.getShape().get(2) != batch.labelHeight() || logits.getShape().get(3) != batch.labelWidth()) {
                    logits = Ops.resizeBilinear(logits, batch.labelHeight(), batch.labelWidth());
                }
                NDArray ce = Losses.weightedCrossEntropy(logits, labels, classWeights, info.ignoreClass() >= info.outputs() ? info.ignoreClass() : -1);
                total = ce;
                terms.put("ce", (double) ce.getFloat());
                timings.add("student forward", System.nanoTime() - t);
                if (teacherTaps != null) {
                    t = System.nanoTime();
                    List<LossTerm> moduleTerms;
                    try {
                        moduleTerms = moduleSet.forward(teacherTaps, studentTaps, true, sm, Probe.NONE);
                    } catch (ModuleSet.ModuleFailure f) {
                        moduleFailed(f);
                        return;
                    }
                    for (LossTerm term : moduleTerms) {
                        total = total.add(Scalars.mul(term.value(), term.weight()));
                        terms.put(term.name(), (double) term.value().getFloat());
                    }
                    timings.add("module forward", System.nanoTime() - t);
                }
                double value = total.getFloat();
                terms.put("total", value);
                if (!Double.isFinite(value)) {
                    nonFinite(terms);
                    return;
                }
                t = System.nanoTime();
                collector.backward(total);
                timings.add("backward", System.nanoTime() - t);
            }
            List<String> badGradients = optimizer.nonFiniteGradients();
            if (!badGradients.isEmpty()) {
                terms.put("total", Double.NaN);
                log("non-finite gradients at step " + step + " (loss " + terms + ") in " + badGradients.size() + " parameters, e.g. "
                        + String.join(", ", badGradients.subList(0, Math.min(6, badGradients.size()))));
                nonFinite(terms);
                return;
            }
            t = System.nanoTime();
            optimizer.step(lr);
            optimizer.zeroGradients();
            timings.add("optimizer", System.nanoTime() - t);
            lastLosses = Map.copyOf(terms);
            losses.add(terms.get("total"));
            nonFiniteInARow = 0;
            if (step % Math.max(1, settings.logEvery()) == 0 || step + 1 == totalSteps) {
                Map<String, Double> m = new LinkedHashMap<>(terms);
                m.put("lr", lr);
                m.put("images_per_s", imagesPerSecond);
                event(RunEvent.Type.STEP, m, "");
            }
        }
    }

    private void moduleFailed(ModuleSet.ModuleFailure f) {
        if (settings.onModuleError().equals("disable")) {
            log("module " + f.module() + " threw at step " + step + " (" + describe(f.getCause()) + "): step skipped, module disabled");
            disable(f.module());
        } else {
            log("module " + f.module() + " threw at step " + step + " (" + describe(f.getCause()) + "): step skipped");
        }
        optimizer.zeroGradients();
        losses.add(Double.NaN);
    }

    private void nonFinite(Map<String, Double> terms) {
        optimizer.zeroGradients();
        losses.add(Double.NaN);
        if (++nonFiniteInARow >= NON_FINITE_LIMIT) {
            log(NON_FINITE_LIMIT + " non-finite losses in a row up to step " + step + ": the parameters have diverged; stopping."
                    + " Lower the learning rate (now " + settings.run().optimisation().learningRate() + ") and resume from "
                    + settings.output().resolve("best.safetensors") + " or start again");
            stopRequested = true;
            throw new NonFiniteLoss("diverged: " + NON_FINITE_LIMIT + " non-finite losses in a row at step " + step);
        }
        if (settings.onNonFinite().equals("stop")) {
            log("non-finite loss at step " + step + " " + terms + ": stopping; the last good checkpoint is " + settings.output().resolve("last.safetensors"));
            stopRequested = true;
            throw new NonFiniteLoss("non-finite loss at step " + step + ": " + terms);
        }
        log("non-finite loss at step " + step + " " + terms + ": step skipped" + nonFiniteParameters());
    }

    /** Names of parameters holding NaN or infinite values, to tell a bad batch from diverged weights. */
    private String nonFiniteParameters() {
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : allParameters().entrySet()) {
            try (NDManager sm = base.newSubManager()) {
                NDArray finite = e.getValue().getArray().isInfinite().logicalOr(e.getValue().getArray().isNaN());
                finite.attach(sm);
                if (finite.any().getBoolean()) bad.add(e.getKey());
            }
        }
        return bad.isEmpty() ? " (all parameters finite)" : " (non-finite parameters: " + String.join(", ", bad.subList(0, Math.min(8, bad.size())))
                + (bad.size() > 8 ? ", …" : "") + ")";
    }

    /** Thrown to end a run whose loss became NaN or infinite under the 'stop' policy. */
    static final class NonFiniteLoss extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NonFiniteLoss(String message) {
            super(message);
        }
    }

    /** Student in evaluation mode over the validation split; mIoU, per-class table, best checkpoint. */
    private void evaluate(BatchLoader valLoader) throws IOException {
        ConfusionMatrix.Mode mode = settings.run().data().protocol().equals("transkd") ? ConfusionMatrix.Mode.TRANSKD : ConfusionMatrix.Mode.STANDARD;
        Evaluation.Result result = Evaluation.run(student, valLoader, info, base, settings.evalBatches());
        lastMiou = result.all().meanIou(mode);
        lastEvaluationTable = result.table(info, mode);
        log(String.format("evaluation at step %d (epoch %d): mIoU %.2f%%%n%s", step, epoch, 100 * lastMiou, lastEvaluationTable));
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("miou", lastMiou);
        m.put("pixel_accuracy", result.all().pixelAccuracy());
        double[] iou = result.all().iou();
        for (int c = 0; c < iou.length; c++) m.put("iou." + info.classes().get(c), iou[c]);
        event(RunEvent.Type.EVALUATION, m, "");
        if (lastMiou > bestMiou) {
            bestMiou = lastMiou;
            checkpoint("best.safetensors");
        }
        checkpoint("last.safetensors");
    }

    // ---- checkpoints --------------------------------------------------------------------------------------------

    private void checkpoint(String name) throws IOException {
        Path file = settings.output().resolve(name);
        Checkpoints.write(file, student, moduleSet == null ? Map.of() : moduleSet.parameters(), optimizer, Map.of(
                "retort.step", String.valueOf(step),
                "retort.best_miou", String.valueOf(bestMiou),
                "retort.student.variant", settings.run().student().variant(),
                "retort.modules", String.join(",", active),
                "retort.disabled", String.join(",", disabled),
                "retort.run", settings.toFileText()));
        event(RunEvent.Type.CHECKPOINT, Map.of("step", (double) step), file.toString());
    }

    private void restore(Path file) throws IOException {
        Checkpoints.State s = Checkpoints.read(file, student, moduleSet == null ? Map.of() : moduleSet.parameters(), optimizer);
        step = s.step();
        bestMiou = s.bestMiou();
        log("resumed from " + file + " at step " + step);
    }

    // ---- plumbing ------------------------------------------------------------------------------------------------

    private void event(RunEvent.Type type, Map<String, Double> values, String message) {
        RunEvent e = new RunEvent(id, type, step, epoch, Instant.now(), values, message);
        if (metrics != null) metrics.append(e);
        services.publish(e);
    }

    private void log(String line) {
        String text = String.format("[%s %s] %s", id, java.time.LocalTime.now().withNano(0), line);
        log.println(text);
        if (metrics != null) metrics.log(text);
    }

    static String describe(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private void closeAll() {
        modules.forEach(a -> a.module().close());
        if (student != null) student.close();
        if (teacher != null) teacher.close();
        if (base != null) base.close();
        if (metrics != null) metrics.close();
    }

    /** Managed NDArrays of the run's manager (including open step scopes); for leak checks. */
    public int liveArrays() {
        NDManager m = base;
        return m == null ? 0 : ((ai.djl.ndarray.BaseNDManager) m).getManagedArrays().size();
    }

}
