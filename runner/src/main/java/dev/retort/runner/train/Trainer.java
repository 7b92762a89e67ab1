package dev.retort.runner.train;

import dev.retort.api.data.MiouConvention;
import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
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
import dev.retort.api.distill.Labels;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.distill.Probe;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.error.Failures;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.ModelRef;
import dev.retort.api.run.ModuleRef;
import dev.retort.api.run.RunConfig;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunPlan;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.RunStatus;
import dev.retort.api.run.TrainingRun;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.Losses;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.nn.Ops;
import dev.retort.nn.Scope;
import dev.retort.datasets.Batch;
import dev.retort.datasets.BatchLoader;
import dev.retort.runner.eval.ConfusionMatrix;
import dev.retort.runner.eval.Evaluation;
import dev.retort.runner.teachercache.CacheSettings;
import dev.retort.runner.teachercache.TeacherTaps;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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

    /** A module left out for now (kd:disable, disabled by its configuration, its port gone), kept with its state. */
    private record Parked(Active active, long since, String reason) {}

    private final String id;
    private final RunSettings settings;
    private final Services services;
    private final Path resume;
    private final PrintStream log;
    private final Set<String> disabled = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean modulesDirty = new AtomicBoolean(true);
    /** Distiller name → why it changed since the last step boundary (bundle events, configuration, kd:enable/disable). */
    private final Map<String, String> causes = new ConcurrentHashMap<>();
    private final List<Double> losses = Collections.synchronizedList(new ArrayList<>());
    private final List<Double> ceLosses = Collections.synchronizedList(new ArrayList<>());
    private final Timings timings = new Timings();
    /** Consecutive non-finite steps after which 'skip' gives up: the parameters themselves are then beyond repair. */
    static final int NON_FINITE_LIMIT = 20;
    private int nonFiniteInARow;
    private volatile long timingsFrom = -1;
    private volatile boolean stopRequested;
    private volatile boolean paused;
    private volatile RunState state = RunState.STARTING;
    private volatile long step;
    private volatile int epoch;
    private volatile long totalSteps;
    private int stepsPerEpoch = 1;  // training thread only
    private volatile Map<String, Double> lastLosses = Map.of();
    private volatile Map<String, Double> lastWeights = Map.of();
    private volatile Instant started;
    private volatile Instant ended;
    private volatile long stepNanos;
    private volatile long stepsTimed;
    private volatile SampleSource trainSource;
    private volatile SampleSource valSource;
    private long skippedReported;  // training thread only
    private volatile double imagesPerSecond;
    private volatile List<String> active = List.of();
    private volatile List<RunStatus.Preparing> preparing = List.of();
    private volatile String deviceName = "?";
    private volatile Throwable failure;
    private volatile double bestMiou = -1;
    private volatile double lastMiou = -1;
    private volatile String lastEvaluationTable = "";
    private volatile Map<String, Double> bestEvaluation = Map.of();
    private volatile long moduleParams;
    private volatile boolean wroteLast;
    private final CompletableFuture<RunResult> completion = new CompletableFuture<>();

    // training state, touched by the training thread only
    private NDManager base;
    private SegmentationNetwork student;
    private SegmentationNetwork teacher;
    private List<Active> modules = new ArrayList<>();
    private final Map<String, Parked> parked = new TreeMap<>();
    /** Modules whose preparation() was asked (once each, after any saved state was loaded); by identity. */
    private final Set<DistillationModule> askedToPrepare = Collections.newSetFromMap(new IdentityHashMap<>());
    /** False while the run builds its first module set and loads its checkpoint: modules are prepared from the first step boundary on. */
    private boolean preparationsOpen;
    private BatchLoader trainLoader;
    private Preparations preparations;
    /** The teacher's pass of the training steps, through the teacher-output cache when teacher.cache is on. */
    private TeacherTaps teacherPass;
    private boolean built;
    private ModuleRoster moduleSet;
    private AdamW optimizer;
    private NDArray classWeights;
    private DatasetInfo info;
    private MetricsLog metrics;
    private RunFolder folder;
    private final boolean overwrite;

    public Trainer(String id, RunSettings settings, Services services, Path resume, PrintStream log) {
        this(id, settings, services, resume, log, null, false);
    }

    /**
     * @param folder the run folder, already claimed by the caller (null: claimed when the run starts)
     * @param overwrite a new run may replace an earlier run's files in its folder (when the run claims it)
     */
    public Trainer(String id, RunSettings settings, Services services, Path resume, PrintStream log, RunFolder folder, boolean overwrite) {
        this.id = id;
        this.settings = settings;
        this.services = services;
        this.resume = resume;
        this.log = log;
        this.folder = folder;
        this.overwrite = overwrite;
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
        // an estimate only while the run runs: paused, stopped or finished, the time left is not a matter of speed
        double left = imagesPerSecond > 0 && state == RunState.RUNNING ? (totalSteps - step) * settings.run().optimisation().batchSize() / imagesPerSecond : -1;
        return new RunStatus(state, step, totalSteps, epoch, lastLosses, lastWeights, imagesPerSecond, elapsed(),
                left < 0 ? null : Duration.ofSeconds((long) left), active, disabled, deviceName, preparing);
    }

    @Override
    public RunPlan plan() {
        return settings.plan();
    }

    @Override
    public RunResult result() {
        long[] skipped = skippedSamples();
        Throwable f = failure;
        Path last = settings.output().resolve("last.safetensors"), best = settings.output().resolve("best.safetensors");
        return new RunResult(id, state, step, settings.output(), wroteLast ? last : null, bestMiou >= 0 ? best : null, bestMiou, lastMiou,
                bestEvaluation, lastEvaluationTable, lossHistory(), ceHistory(), moduleParams, meanStepMillis(), timings.meanMillis(), elapsed(),
                skipped[0], skipped[1], f == null ? null : describe(f));
    }

    @Override
    public CompletionStage<RunResult> completion() {
        return completion.minimalCompletionStage();
    }

    /** Called by the runner once the run has ended and its own listener has had every event. */
    void complete() {
        completion.complete(result());
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

    /** Distiller {@code name} changed for {@code cause} (e.g. "bundle x stopped"): the next boundary acts and logs it. */
    public void modulesChanged(String name, String cause) {
        causes.merge(name, cause, (a, b) -> a.equals(b) ? a : a + "; " + b);
        modulesDirty.set(true);
    }

    /**
     * Leaves a module out of this run from the next step on ({@code kd:disable}); it keeps its parameters and
     * AdamW moments, so {@link #enable} continues from them.
     */
    @Override
    public void disable(String module) {
        requireUsable(module);
        disableNow(module);
    }

    private void disableNow(String module) {
        disabled.add(module);
        modulesChanged(module, "kd:disable");
    }

    @Override
    public void enable(String module) {
        requireUsable(module);
        disabled.remove(module);
        modulesChanged(module, "kd:enable");
    }

    /** A module kd:enable/kd:disable can act on: a registered distiller, and in a run with a module list, one of its list. */
    private void requireUsable(String module) {
        Set<String> known = new TreeSet<>();
        services.distillers().forEach(r -> known.add(r.name()));
        List<String> list = settings.run().modules().stream().map(ModuleRef::distiller).toList();
        if (!known.contains(module) && !list.contains(module)) {
            throw new RetortConfigException("unknown module " + module + " (known: " + (known.isEmpty() ? "none" : String.join(", ", known)) + ")");
        }
        if (settings.run().teacher() == null) throw new RetortConfigException(id + " has no teacher: it uses no modules");
        if (!settings.followRegistry() && !list.contains(module)) {
            throw new RetortConfigException(module + " is not in this run's module list (" + (list.isEmpty() ? "none" : String.join(", ", list)) + ")");
        }
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

    /** Cross-entropy of every step done so far, in order (NaN for skipped steps). */
    public List<Double> ceHistory() {
        synchronized (ceLosses) {
            return List.copyOf(ceLosses);
        }
    }

    /** Weight of each loss term of the last step, by term name ({@code ce} is 1; {@code total} is the weighted sum). */
    public Map<String, Double> lossWeights() {
        return lastWeights;
    }

    /** Steps the run will take in all (known once the data is open; 0 before). */
    public long totalSteps() {
        return totalSteps;
    }

    /** Wall time since the run started, up to its end once it ended. */
    public Duration elapsed() {
        Instant from = started;
        if (from == null) return Duration.ZERO;
        Instant to = ended;
        return Duration.between(from, to == null ? Instant.now() : to);
    }

    /** Mean wall time of one training step (data, forwards, backward, optimizer; no evaluation or checkpoint), ms. */
    public double meanStepMillis() {
        long n = stepsTimed;
        return n == 0 ? Double.NaN : stepNanos / 1e6 / n;
    }

    /** Samples skipped so far under {@code data.on_error = skip}: {train, validation}. */
    public long[] skippedSamples() {
        SampleSource t = trainSource, v = valSource;
        return new long[] {t == null ? 0 : t.skipped(), v == null ? 0 : v.skipped()};
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
        return state.ended();
    }

    // ---- the run (training thread) -----------------------------------------------------------------------------

    @Override
    public void run() {
        try {
            started = Instant.now();
            GradMode.offForThisThread();
            train();
            state = stopRequested ? RunState.STOPPED : RunState.FINISHED;
            ended = Instant.now();
            Map<String, Double> end = new LinkedHashMap<>();
            end.put("best_miou", bestMiou);
            long[] skipped = skippedSamples();
            end.put("skipped_train", (double) skipped[0]);
            end.put("skipped_val", (double) skipped[1]);
            if (skipped[0] + skipped[1] > 0) {
                log("samples skipped under data.on_error = skip: " + skipped[0] + " train, " + skipped[1] + " validation (loads that failed; see the dataset's messages)");
            }
            event(RunEvent.Type.FINISHED, end, state.name().toLowerCase() + " after " + step + " steps");
        } catch (NonFiniteLoss t) {
            failure = t;
            state = RunState.STOPPED;
            event(RunEvent.Type.FAILED, Map.of(), describe(t));
        } catch (Throwable t) {
            failure = t;
            state = RunState.FAILED;
            log("FAILED at step " + step + ": " + describe(t));
            if (Failures.debug()) t.printStackTrace(log);
            event(RunEvent.Type.FAILED, Map.of(), describe(t));
        } finally {
            if (ended == null) ended = Instant.now();
            closeAll();
        }
    }

    private void train() throws IOException {
        RunConfig run = settings.run();
        checkModules(settings, services.distillers());
        Engine engine = services.engine();
        Device device = device(engine, run.device());
        deviceName = device.toString();
        base = engine.newBaseManager(device);
        if (folder == null) folder = RunFolder.claim(settings.output(), resume, overwrite);
        // a resumed run's files change only once its checkpoint is accepted (restore): a refused resume keeps their history
        metrics = resume != null ? MetricsLog.held(settings.output()) : new MetricsLog(settings.output(), false);
        metrics.writeRunFile(settings.toFileText());
        log("run " + id + " on " + device + " -> " + settings.output());
        folder.notes().forEach(this::log);

        InitCheckpoint init = initCheckpoint();
        student = build(run.student(), "student", LoadMode.STRICT);
        if (init != null) init.network("student", student, this::log);
        if (settings.precision().studentMixed()) {
            log("precision bf16-mixed: the student's linear, convolution and attention products in bfloat16 from float32 master weights;"
                    + " norms, softmax, losses and AdamW in float32");
        }
        settings.precision().warnings(device, Precision.cpuFlags()).forEach(this::log);
        if (run.teacher() != null) {
            SegmentationNetwork built = build(run.teacher(), "teacher", LoadMode.STRICT);
            if (init != null) init.network("teacher", built, this::log);  // before a cast copies the weights
            teacher = settings.precision().teacher(built, device);
            log("teacher " + run.teacher().variant() + ": frozen, evaluation mode (BatchNorm running statistics, no dropout),"
                    + " forward without gradient" + (teacher instanceof CastTeacher c ? " in " + c.type() + " (weights cast once, taps back to float32)" : "")
                    + "; its outputs are constants for the losses");
        } else {
            log("no teacher: student-only baseline (modules are not used)");
            // teacher.cache, teacher.precision, … would otherwise be accepted and do nothing
            List<String> unused = settings.source().keySet().stream().filter(k -> k.startsWith("teacher.")).sorted().toList();
            if (!unused.isEmpty()) log("WARNING " + String.join(", ", unused) + " configure nothing: this run has no teacher");
        }
        SegmentationDataset dataset = services.dataset(run.data().dataset());
        try (SampleSource train = dataset.open(request(run.data().trainSplit(), true));
             SampleSource val = dataset.open(request(run.data().valSplit(), false));
             BatchLoader loader = new BatchLoader(train, run.optimisation().batchSize(), false, settings.threads(), settings.prefetch());
             BatchLoader valLoader = new BatchLoader(val, run.optimisation().batchSize(), false, settings.threads(), settings.prefetch())) {
            info = train.info();
            if (run.optimisation().batchSize() > train.size()) {
                // the loader would give one short batch an epoch: not the run the file describes
                throw new RetortConfigException("batch_size " + run.optimisation().batchSize() + " is larger than the training split ("
                        + train.size() + " samples in " + run.data().trainSplit() + "): set batch_size to at most " + train.size());
            }
            trainSource = train;
            valSource = val;
            skippedReported = train.skipped();
            if (train.fixedOrder()) log("data: " + dataset.name() + " is read in its own order every epoch (no shuffling)");
            if (train.skipped() + val.skipped() > 0) {
                log("data.on_error = skip: " + train.skipped() + " train and " + val.skipped() + " validation samples left out when the splits were opened");
            }
            if (student.spec().classes() != info.outputs()) {
                throw new RetortConfigException("student " + run.student().variant() + " has " + student.spec().classes() + " outputs but "
                        + dataset.name() + " (" + run.data().protocol() + " protocol) needs " + info.outputs() + "; set student.num_classes = " + info.outputs());
            }
            classWeights = base.create(info.classWeights());
            optimizer = new AdamW(base, run.optimisation().weightDecay());
            int perEpoch = loader.batches();
            trainLoader = loader;
            if (teacher != null) teacherPass = TeacherTaps.open(CacheSettings.of(settings.source(), settings.output()), run, settings.source(), teacher, deviceName, this::log);
            stepsPerEpoch = perEpoch;
            totalSteps = run.optimisation().iterations() > 0 ? run.optimisation().iterations() : (long) run.optimisation().epochs() * perEpoch;
            requireRequestedModules();
            rebuildModules();
            if (resume != null) restore(resume);
            if (init != null) {
                if (moduleSet != null) init.modules(moduleSet, this::log);
                init.report(teacher != null, this::log);
            }
            // Preparations run at step boundaries, once any saved state is loaded (a prepared module then needs none).
            preparationsOpen = true;
            modulesDirty.set(true);
            state = RunState.RUNNING;
            event(RunEvent.Type.STARTED, Map.of("total_steps", (double) totalSteps), "run " + id);
            Progress progress = new Progress(log, totalSteps);
            BatchLoader.Epoch current = null;
            int currentEpoch = -1;
            try {
                while (step < totalSteps) {
                    if (!boundary()) break;
                    if (step == timingsFrom) {
                        timings.reset();
                        this.stepNanos = 0;
                        stepsTimed = 0;
                    }
                    int e = (int) (step / perEpoch) + 1, b = (int) (step % perEpoch);
                    epoch = e;
                    if (current == null || e != currentEpoch) {
                        if (current != null) current.close();
                        current = loader.epoch(run.seed(), e, !train.fixedOrder(), b);
                        currentEpoch = e;
                    }
                    double lr = learningRate(e);
                    long t0 = System.nanoTime();
                    Batch batch = current.next();
                    timings.add("data", System.nanoTime() - t0);
                    stepOnce(batch, lr);
                    step++;
                    long stepNanos = System.nanoTime() - t0;
                    this.stepNanos += stepNanos;
                    stepsTimed++;
                    long skippedNow = train.skipped();  // loader threads load ahead: report what is new since the last report
                    if (skippedNow > skippedReported) {
                        log("step " + step + ": " + (skippedNow - skippedReported) + " sample(s) failed to load and were skipped (data.on_error = skip); "
                                + skippedNow + " so far");
                        skippedReported = skippedNow;
                    }
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

    /** The run's {@code init} file, indexed; null when there is none or the run resumes (the checkpoint is later). */
    private InitCheckpoint initCheckpoint() throws IOException {
        Path file = settings.init();
        if (file == null) return null;
        if (resume != null) {
            log("init = " + file + " not applied: the run resumes from " + resume);
            return null;
        }
        log("init: weights from " + file + " (not its optimiser state: AdamW starts afresh at step 0)");
        return InitCheckpoint.open(file);
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
            if (n >= engine.getGpuCount()) throw new RetortConfigException("device " + spec + ": " + engine.getGpuCount() + " GPU(s) found");
            return Device.gpu(n);
        }
        return engine.getGpuCount() > 0 ? Device.gpu(0) : Device.cpu();
    }

    /** Polynomial decay, power 1: lr·(1 − e/decay_steps) per epoch (reference), or per iteration; constant for decay_steps 0. */
    double learningRate(int epochIndex) {
        var opt = settings.run().optimisation();
        if (opt.decaySteps() == 0) return opt.learningRate();
        double progress = opt.decayPerEpoch() ? epochIndex : step;
        return opt.learningRate() * Math.max(0, 1 - progress / Math.max(1, opt.decaySteps()));
    }

    /** Pause, stop and module swaps happen here, between steps. Returns false to stop. */
    private boolean boundary() {
        while (paused && !stopRequested) {
            if (state != RunState.PAUSED) {
                state = RunState.PAUSED;
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
        if (state == RunState.PAUSED) {
            state = RunState.RUNNING;
            log("resumed at step " + step);
            event(RunEvent.Type.RESUMED, Map.of(), "resumed");
        }
        if (stopRequested) {
            log("stop requested: stopping at step " + step);
            return false;
        }
        if (modulesDirty.getAndSet(false)) rebuildModules();
        if (stopRequested) {  // requested while a module prepared
            log("stop requested: stopping at step " + step);
            return false;
        }
        return true;
    }

    /**
     * Refuses a run whose modules are not what it asks for, before anything is built: a name in {@code modules} or in a
     * {@code module.<name>.} section that no registered distiller has, a key or value its distiller does not accept,
     * and a requested module whose own configuration was rejected or that its configuration disables.
     */
    public static void checkModules(RunSettings settings, List<Registered> distillers) {
        Map<String, Distiller> byName = new TreeMap<>();
        for (Registered r : distillers) byName.putIfAbsent(r.name(), r.distiller());
        Set<String> requested = new java.util.HashSet<>();
        settings.run().modules().forEach(m -> requested.add(m.distiller()));
        for (Map.Entry<String, Map<String, Object>> e : settings.moduleConfigs().entrySet()) {
            String name = e.getKey();
            Distiller d = byName.get(name);
            if (d == null) {
                String hint = dev.retort.nn.Keys.suggestion(name, byName.keySet());
                throw new RetortConfigException("unknown module " + name + (hint == null ? "" : " (did you mean " + hint + "?)")
                        + (requested.contains(name) ? " in modules = " + settings.source().get("modules") : " in module." + name + ".* keys")
                        + "; registered: " + (byName.isEmpty() ? "none" : String.join(", ", byName.keySet())));
            }
            if (d.rejection().isPresent()) {
                if (requested.contains(name)) throw new RetortConfigException("module " + name + ": configuration rejected: " + d.rejection().get());
                continue;  // not needed by this run: its section cannot be checked against a configuration that is not in force
            }
            if (requested.contains(name) && !d.enabled()) {
                throw new RetortConfigException("module " + name + " is in modules = " + settings.source().get("modules")
                        + " but its configuration disables it (enabled = false)");
            }
            d.validate(e.getValue());
        }
    }

    /**
     * A module listed in {@code modules} is required: each must build for this teacher and student and the list
     * must wire up, else the run fails at start with the reason (a run that follows the registry leaves out, logged,
     * what cannot be built).
     */
    private void requireRequestedModules() {
        if (teacher == null || settings.followRegistry() || settings.run().modules().isEmpty()) return;
        Map<String, Distiller> byName = new TreeMap<>();
        for (Registered r : services.distillers()) byName.putIfAbsent(r.name(), r.distiller());
        List<DistillationModule> built = new ArrayList<>();
        try (NDManager scratch = base.newSubManager()) {
            for (ModuleRef m : settings.run().modules()) {
                try {
                    built.add(factory(scratch).build(byName.get(m.distiller()), m.config()));
                } catch (RuntimeException e) {
                    throw new RetortConfigException("module " + m.distiller() + " is in this run's module list but cannot be built: " + e.getMessage(), e);
                }
            }
            ModuleRoster.of(built);
        } finally {
            built.forEach(DistillationModule::close);
        }
    }

    /**
     * Brings the module set in line with the registry, the run's module list and kd:enable/kd:disable. A module
     * whose distiller was re-configured is asked to take the change in place (trained parameters and AdamW moments
     * stay) and is built anew only for a structural change; a module left out while its distiller is still there
     * (kd:disable, {@code enabled = false}, its port gone) is parked with its state and continues from it when it
     * returns; a module whose service is gone is released. Every change is logged with its cause. A module that
     * cannot be built or cannot join is left out with a message; the run goes on.
     */
    private void rebuildModules() {
        if (teacher == null) {
            active = List.of();
            optimizer.parameters(allParameters());
            return;
        }
        Map<String, String> why = new TreeMap<>();
        for (String name : List.copyOf(causes.keySet())) {
            String c = causes.remove(name);
            if (c != null) why.put(name, c);
        }
        Map<String, Registered> registered = new TreeMap<>();
        for (Registered r : services.distillers()) registered.putIfAbsent(r.name(), r);
        Map<String, Map<String, ?>> wanted = new LinkedHashMap<>();
        if (settings.followRegistry()) {
            registered.keySet().forEach(n -> wanted.put(n, settings.moduleConfig(n)));
        } else {
            for (ModuleRef m : settings.run().modules()) {
                if (registered.containsKey(m.distiller())) wanted.put(m.distiller(), m.config());
            }
        }
        disabled.forEach(wanted::remove);
        wanted.keySet().removeIf(n -> !registered.get(n).distiller().enabled());
        String defaultCause = built ? "registry changed" : "run start";
        built = true;

        List<String> before = modules.stream().map(Active::name).toList();
        Set<String> wasParked = Set.copyOf(parked.keySet());
        Map<String, String> changes = new TreeMap<>();
        Map<String, String> fresh = new TreeMap<>();  // name -> why it is built anew
        List<Active> next = new ArrayList<>();
        List<Active> candidates = new ArrayList<>(modules);
        Map<String, Long> returning = new TreeMap<>();
        for (Parked p : List.copyOf(parked.values())) {
            String name = p.active().name();
            Registered r = registered.get(name);
            if (r == null || r.distiller() != p.active().distiller()) {
                parked.remove(name);
                discard(p.active());
                changes.put(name, name + ": its service is gone (" + why.getOrDefault(name, defaultCause) + "); the state kept since step "
                        + p.since() + " is released");
            } else if (wanted.containsKey(name)) {
                parked.remove(name);
                candidates.add(p.active());
                returning.put(name, p.since());
            }
        }
        for (Active a : candidates) {
            String name = a.name(), cause = why.getOrDefault(name, defaultCause);
            Registered r = registered.get(name);
            if (r == null) {
                discard(a);
                changes.put(name, name + " left the run (" + cause + "); its trained state is released");
                continue;
            }
            if (r.distiller() != a.distiller()) {
                // The old module's code belongs to the old service (a stopped or updated bundle): it cannot be kept.
                discard(a);
                if (wanted.containsKey(name)) {
                    fresh.put(name, name + " built from scratch: a new " + name + " service (" + cause + "); the trained state of the old one is released");
                } else {
                    changes.put(name, name + " left the run (" + cause + "); its trained state is released");
                }
                continue;
            }
            if (!wanted.containsKey(name)) {
                String reason = disabled.contains(name) ? "kd:disable" : !r.distiller().enabled() ? "disabled by its configuration, enabled = false" : cause;
                park(a, reason, returning.getOrDefault(name, step));
                changes.put(name, name + " left the run (" + reason + "); its parameters and AdamW moments are kept for when it returns");
                continue;
            }
            String back = returning.containsKey(name) ? " and returns with the parameters and AdamW moments it had at step " + returning.get(name) : "";
            if (r.generation() == a.generation()) {
                next.add(a);
                continue;
            }
            Reconfiguration rc;
            try {
                rc = a.module().reconfigure(context(wanted.get(name)));
            } catch (RuntimeException | LinkageError e) {
                park(a, "configuration rejected: " + e.getMessage(), returning.getOrDefault(name, step));
                changes.put(name, name + ": new configuration rejected (" + cause + "): " + e.getMessage()
                        + "; left out, its parameters and AdamW moments are kept until a valid configuration arrives");
                continue;
            }
            if (rc.inPlace()) {
                next.add(new Active(name, a.distiller(), r.generation(), a.module()));
                changes.put(name, name + " re-configured in place (" + cause + "): " + (rc.changes().isEmpty() ? "nothing it uses changed" : rc.changes())
                        + "; trained parameters and AdamW moments kept" + back);
            } else {
                discard(a);
                fresh.put(name, name + " rebuilt from scratch (" + cause + "): " + rc.changes() + "; its trained parameters and AdamW moments are released");
            }
        }
        for (Map.Entry<String, Map<String, ?>> w : wanted.entrySet()) {
            String name = w.getKey();
            if (next.stream().anyMatch(a -> a.name().equals(name)) || parked.containsKey(name)) continue;
            Registered r = registered.get(name);
            String joined = fresh.getOrDefault(name, name + " joined (" + why.getOrDefault(name, defaultCause) + ")");
            DistillationModule m;
            try {
                m = factory(base).build(r.distiller(), w.getValue());
            } catch (RuntimeException | LinkageError e) {
                changes.put(name, (fresh.containsKey(name) ? fresh.get(name) + ", but " : "") + "module " + name + " cannot be built and is left out: " + e.getMessage());
                continue;
            }
            String refused = ModuleRoster.cannotJoin(m, next.stream().map(Active::module).toList());
            if (refused != null) {
                m.close();
                changes.put(name, "module " + name + " cannot join the run and is left out: " + refused);
                continue;
            }
            next.add(new Active(name, r.distiller(), r.generation(), m));
            changes.put(name, joined);
        }
        if (preparationsOpen) {
            // A module that must be prepared (MasKD's tokens) is, before it joins: the swap happens when its preparation ends.
            for (Active a : List.copyOf(next)) {
                if (!askedToPrepare.add(a.module())) continue;
                String failed = preparations().prepare(a.name(), a.distiller(), wanted.get(a.name()), a.module());
                if (failed == null) continue;
                next.remove(a);
                discard(a);
                if (!failed.startsWith(Preparations.STOPPED)) disabled.add(a.name());
                changes.put(a.name(), "module " + a.name() + " is left out: its preparation " + failed
                        + (failed.startsWith(Preparations.STOPPED) ? "" : "; disabled (kd:enable " + a.name() + " tries again)"));
            }
        }
        next.sort((a, b) -> a.name().compareTo(b.name()));
        while (true) {
            List<String> orphans = ModuleRoster.unwired(next.stream().map(Active::module).toList());
            if (orphans.isEmpty()) break;
            next.removeIf(a -> {
                if (!orphans.contains(a.name())) return false;
                park(a, "refines a port no active module offers", returning.getOrDefault(a.name(), step));
                String line = "module " + a.name() + " refines a port no active module offers; left out until one does (its state is kept)";
                if (changes.containsKey(a.name())) changes.put(a.name(), changes.get(a.name()) + "; but " + line);
                else if (!wasParked.contains(a.name())) changes.put(a.name(), line);
                return true;
            });
        }
        for (Active a : next) {
            if (returning.containsKey(a.name()) && !changes.containsKey(a.name())) {
                changes.put(a.name(), a.name() + " is back (" + why.getOrDefault(a.name(), defaultCause) + "), with the parameters and AdamW moments it had at step "
                        + returning.get(a.name()));
            }
        }
        ModuleRoster set;
        try {
            set = ModuleRoster.of(next.stream().map(Active::module).toList());
        } catch (RuntimeException e) {
            // Cannot happen after the checks above; if it does, the last working set goes on rather than the run dying.
            List<Active> joinedNow = next.stream().filter(a -> !modules.contains(a) && !candidates.contains(a)).toList();
            joinedNow.forEach(a -> {
                discard(a);
                changes.put(a.name(), "module " + a.name() + " cannot join the run and is left out: " + e.getMessage());
            });
            next.removeAll(joinedNow);
            set = ModuleRoster.of(next.stream().map(Active::module).toList());
        }
        modules = next;
        moduleSet = set;
        active = modules.stream().map(Active::name).toList();
        Set<String> keep = new java.util.HashSet<>();
        parked.values().forEach(p -> keep.addAll(keys(p.active())));
        optimizer.parameters(allParameters(), keep);
        if (!changes.isEmpty() || !active.equals(before)) {
            long params = modules.stream().mapToLong(a -> ModuleRoster.trainable(a.module())).sum();
            String message = "step " + step + ": modules " + before + " -> " + active + " (" + params + " training-only parameters)"
                    + (changes.isEmpty() ? "" : ": " + String.join("; ", changes.values()));
            log("step " + step + ": modules " + before + " -> " + active + " (" + params + " training-only parameters)");
            changes.values().forEach(c -> log("  " + c));
            moduleParams = params;
            // the sum, then each active module's own count (params.<module>), for views that list modules
            Map<String, Double> counts = new LinkedHashMap<>();
            counts.put("module_params", (double) params);
            modules.forEach(a -> counts.put("params." + a.name(), (double) ModuleRoster.trainable(a.module())));
            event(RunEvent.Type.MODULES_CHANGED, counts, message);
        }
    }

    /** The preparation phases of joining modules, run on this run's teacher, data and training thread. */
    private Preparations preparations() {
        if (preparations == null) {
            preparations = new Preparations(new Preparations.Host() {
                public SegmentationNetwork teacher() {
                    return teacher;
                }

                public NDManager base() {
                    return base;
                }

                public Engine engine() {
                    return services.engine();
                }

                public BatchLoader loader() {
                    return trainLoader;
                }

                public int stepsPerEpoch() {
                    return stepsPerEpoch;
                }

                public DatasetInfo info() {
                    return info;
                }

                public RunSettings settings() {
                    return settings;
                }

                public boolean stopRequested() {
                    return stopRequested;
                }

                public void preparing(List<RunStatus.Preparing> now) {
                    preparing = List.copyOf(now);
                }

                public void log(String line) {
                    Trainer.this.log(line);
                }

                public void event(RunEvent.Type type, Map<String, Double> values, String message) {
                    Trainer.this.event(type, values, message);
                }

                public DistillContext context(Map<String, ?> config) {
                    return Trainer.this.context(config);
                }
            });
        }
        return preparations;
    }

    /** Where this run's modules are built: its teacher's and student's taps, {@code manager}, the run's seed. */
    private ModuleRoster.Factory factory(NDManager manager) {
        return new ModuleRoster.Factory(teacher.spec().taps(), student.spec().taps(), manager, settings.run().seed());
    }

    private DistillContext context(Map<String, ?> config) {
        return factory(base).context(config);
    }

    private void park(Active a, String reason, long since) {
        parked.put(a.name(), new Parked(a, since, reason));
    }

    /** Closes a module for good and releases its optimiser state. */
    private void discard(Active a) {
        askedToPrepare.remove(a.module());
        optimizer.release(keys(a));
        a.module().close();
    }

    private static List<String> keys(Active a) {
        return a.module().parameters().keySet().stream().map(k -> ModuleRoster.key(a.name(), k)).toList();
    }

    /** Active and parked modules' parameters by checkpoint key: a checkpoint keeps a parked module's state too. */
    private Map<String, Parameter> moduleParameters() {
        Map<String, Parameter> all = new LinkedHashMap<>(moduleSet == null ? Map.of() : moduleSet.parameters());
        for (Parked p : parked.values()) {
            p.active().module().parameters().forEach((k, v) -> all.put(ModuleRoster.key(p.active().name(), k), v));
        }
        return all;
    }

    private Map<String, Parameter> allParameters() {
        Map<String, Parameter> all = new LinkedHashMap<>();
        student.parameters().forEach((k, p) -> all.put("student." + k, p));
        if (moduleSet != null && teacher != null) all.putAll(moduleSet.parameters());
        return all;
    }

    /** Where training stands at the step about to be taken (what progress-dependent losses read). */
    private TrainingProgress progress() {
        int totalEpochs = (int) Math.max(1, (totalSteps + stepsPerEpoch - 1) / stepsPerEpoch);
        return new TrainingProgress(step, totalSteps, Math.min(Math.max(1, epoch), totalEpochs), totalEpochs);
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
            TapValues teacherTaps = teacher != null && !modules.isEmpty()
                    ? teacherPass.forward(teacher, images, batch, epoch, modules.stream().map(Active::module).toList(), sm) : null;
            // The training forward updates BatchNorm running statistics in place before the loss can be checked.
            List<NDArray[]> runningStats = snapshotBuffers(sm);
            timings.add("teacher forward", System.nanoTime() - t);
            Map<String, Double> terms = new LinkedHashMap<>();
            Map<String, Double> weights = new LinkedHashMap<>();
            NDArray total;
            try (GradientCollector collector = engine.newGradientCollector()) {
                t = System.nanoTime();
                // bf16-mixed: products in bfloat16 for the student's and the modules' forward (their backward follows the graph)
                TapValues studentTaps;
                NDArray ce;
                List<LossTerm> moduleTerms = List.of();
                try (Scope products = settings.precision().studentProducts()) {
                    studentTaps = student.forward(images, true);
                    NDArray logits = studentTaps.get(TapNames.LOGITS);
                    if (logits.getShape().get(2) != batch.labelHeight() || logits.getShape().get(3) != batch.labelWidth()) {
                        logits = Ops.resizeBilinear(logits, batch.labelHeight(), batch.labelWidth());
                    }
                    ce = Losses.weightedCrossEntropy(logits, labels, classWeights, info.ignoreClass() >= info.outputs() ? info.ignoreClass() : -1);
                    timings.add("student forward", System.nanoTime() - t);
                    if (teacherTaps != null) {
                        t = System.nanoTime();
                        try {
                            moduleTerms = moduleSet.forward(teacherTaps, studentTaps, true, sm, Probe.NONE, progress(),
                                    new Labels(labels, info.ignoreClass(), info.classes().size()));
                        } catch (ModuleRoster.ModuleFailure f) {
                            restoreBuffers(runningStats);
                            moduleFailed(f);
                            return;
                        }
                        timings.add("module forward", System.nanoTime() - t);
                    }
                }
                Objective.Loss loss = Objective.compose(ce, moduleTerms);
                total = loss.total();
                terms.putAll(loss.values());
                weights.putAll(loss.weights());
                double value = terms.get(Objective.TOTAL);
                if (!Double.isFinite(value)) {
                    restoreBuffers(runningStats);
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
                restoreBuffers(runningStats);
                nonFinite(terms);
                return;
            }
            t = System.nanoTime();
            optimizer.step(lr);
            optimizer.zeroGradients();
            timings.add("optimizer", System.nanoTime() - t);
            lastLosses = Collections.unmodifiableMap(new LinkedHashMap<>(terms));
            lastWeights = Collections.unmodifiableMap(weights);
            losses.add(terms.get("total"));
            ceLosses.add(terms.get("ce"));
            nonFiniteInARow = 0;
            if (step % Math.max(1, settings.logEvery()) == 0 || step + 1 == totalSteps) {
                Map<String, Double> m = new LinkedHashMap<>(terms);
                m.put("lr", lr);
                m.put("images_per_s", imagesPerSecond);
                SampleSource source = trainSource;
                if (source != null && source.skipped() > 0) m.put("skipped_train", (double) source.skipped());
                event(RunEvent.Type.STEP, m, "");
            }
        }
    }

    /** Copies of every buffer (BatchNorm running statistics) of the student and the active modules, in the step's scope. */
    private List<NDArray[]> snapshotBuffers(NDManager stepManager) {
        List<NDArray[]> saved = new ArrayList<>();
        for (Parameter p : allParameters().values()) {
            if (p.requiresGradient()) continue;
            NDArray copy = p.getArray().duplicate();
            copy.attach(stepManager);
            saved.add(new NDArray[] {p.getArray(), copy});
        }
        return saved;
    }

    /** Puts the buffers back as they were before a step that is skipped, so it leaves no trace. */
    private static void restoreBuffers(List<NDArray[]> saved) {
        for (NDArray[] pair : saved) pair[0].set(new NDIndex("..."), pair[1]);
    }

    private void moduleFailed(ModuleRoster.ModuleFailure f) {
        if (settings.onModuleError() == FaultPolicy.ModuleError.DISABLE) {
            log("module " + f.module() + " threw at step " + step + " (" + describe(f.getCause()) + "): step skipped, module disabled");
            disableNow(f.module());
        } else {
            log("module " + f.module() + " threw at step " + step + " (" + describe(f.getCause()) + "): step skipped");
        }
        optimizer.zeroGradients();
        losses.add(Double.NaN);
        ceLosses.add(Double.NaN);
    }

    private void nonFinite(Map<String, Double> terms) {
        optimizer.zeroGradients();
        losses.add(Double.NaN);
        ceLosses.add(Double.NaN);
        if (++nonFiniteInARow >= NON_FINITE_LIMIT) {
            log(NON_FINITE_LIMIT + " non-finite losses in a row up to step " + step + ": the parameters have diverged; stopping."
                    + " Lower the learning rate (now " + settings.run().optimisation().learningRate() + ") and resume from "
                    + settings.output().resolve("best.safetensors") + " or start again");
            stopRequested = true;
            throw new NonFiniteLoss("diverged: " + NON_FINITE_LIMIT + " non-finite losses in a row at step " + step);
        }
        if (settings.onNonFinite() == FaultPolicy.NonFinite.STOP) {
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
        MiouConvention mode = info.miou();  // the dataset states it
        Evaluation.Result result;
        // the student is evaluated in the precision it trains in
        try (Scope products = settings.precision().studentProducts()) {
            result = Evaluation.run(student, valLoader, info, base, settings.evalBatches());
        }
        lastMiou = result.all().meanIou(mode);
        lastEvaluationTable = result.table(info, mode);
        log(String.format("evaluation at step %d (epoch %d): mIoU %.2f%%%n%s", step, epoch, 100 * lastMiou, lastEvaluationTable));
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("miou", lastMiou);
        m.put("pixel_accuracy", result.all().pixelAccuracy());
        double[] iou = result.all().iou();
        for (int c = 0; c < iou.length; c++) m.put("iou." + info.classes().get(c), iou[c]);  // in the dataset's class order
        SampleSource source = valSource;
        if (source != null && source.skipped() > 0) m.put("skipped_val", (double) source.skipped());
        event(RunEvent.Type.EVALUATION, m, "");
        if (lastMiou > bestMiou) {
            bestMiou = lastMiou;
            bestEvaluation = Collections.unmodifiableMap(new LinkedHashMap<>(m));  // keeps the class order
            checkpoint("best.safetensors");
        }
        checkpoint("last.safetensors");
    }

    // ---- checkpoints --------------------------------------------------------------------------------------------

    private void checkpoint(String name) throws IOException {
        Path file = settings.output().resolve(name);
        Checkpoints.write(file, student, moduleParameters(), optimizer, Map.of(
                "retort.step", String.valueOf(step),
                "retort.best_miou", String.valueOf(bestMiou),
                "retort.student.variant", settings.run().student().variant(),
                "retort.modules", String.join(",", active),
                "retort.disabled", String.join(",", disabled),
                "retort.run", settings.toFileText()));
        if (name.equals("last.safetensors")) wroteLast = true;
        event(RunEvent.Type.CHECKPOINT, Map.of("step", (double) step), file.toString());
    }

    private void restore(Path file) throws IOException {
        Checkpoints.State s = Checkpoints.read(file, student, moduleSet == null ? Map.of() : moduleSet.parameters(),
                moduleSet == null ? Map.of() : moduleSet.references(), optimizer);
        int dropped = folder.truncateMetrics(s.step());
        metrics.release("---- resumed from " + file + " at step " + s.step() + "; lines above logged after that"
                + " checkpoint were not kept in metrics.jsonl (" + dropped + " events dropped) ----");
        step = s.step();
        bestMiou = s.bestMiou();
        log("resumed from " + file + " at step " + step);
        s.notes().forEach(n -> log("  " + n));
        // Modules disabled when the checkpoint was written stay disabled; their state was saved and is parked again.
        String off = s.metadata().getOrDefault("retort.disabled", "");
        for (String name : off.split(",")) {
            if (!name.isBlank() && disabled.add(name.strip())) modulesChanged(name.strip(), "disabled when the checkpoint was written (kd:disable)");
        }
    }

    // ---- plumbing ------------------------------------------------------------------------------------------------

    private void event(RunEvent.Type type, Map<String, Double> values, String message) {
        RunEvent e = new RunEvent(id, type, step, epoch, Instant.now(), values, message);
        if (metrics != null) metrics.append(e);
        // train.log gets a loss line every log_every steps too (the console has the progress line instead)
        if (type == RunEvent.Type.STEP && metrics != null) metrics.log(stamp(lossLine(values)));
        services.publish(e);
    }

    private String lossLine(Map<String, Double> values) {
        StringBuilder b = new StringBuilder("step " + step + "/" + totalSteps + " (epoch " + epoch + "):");
        values.forEach((k, v) -> {
            if (k.equals("lr")) b.append(String.format(" lr %.3g", v));
            else if (k.equals("images_per_s")) b.append(String.format(", %.2f images/s", v));
            else b.append(String.format(" %s %.5f", k, v));
        });
        return b.toString();
    }

    private void log(String line) {
        String text = stamp(line);
        log.println(text);
        if (metrics != null) metrics.log(text);
    }

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");

    private String stamp(String line) {
        return String.format("[%s %s] %s", id, LocalTime.now().format(TIME), line);
    }

    /** A failure in one line, as everywhere in Retort ({@link Failures#describe}). */
    static String describe(Throwable t) {
        return Failures.describe(t);
    }

    private void closeAll() {
        modules.forEach(a -> a.module().close());
        parked.values().forEach(p -> p.active().module().close());
        if (student != null) student.close();
        if (teacherPass != null) teacherPass.close();
        if (teacher != null) teacher.close();
        if (base != null) base.close();
        if (metrics != null) metrics.close();
        if (folder != null) folder.close();
    }

    /** Managed NDArrays of the run's manager (including open step scopes); for leak checks. */
    public int liveArrays() {
        NDManager m = base;
        return m == null ? 0 : ((ai.djl.ndarray.BaseNDManager) m).getManagedArrays().size();
    }

}
