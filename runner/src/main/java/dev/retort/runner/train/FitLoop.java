package dev.retort.runner.train;

import dev.retort.nn.Devices;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.error.Failures;
import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.nn.HostTransfers;
import dev.retort.api.run.ModelRef;
import dev.retort.api.run.RunConfig;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunState;
import dev.retort.datasets.Batch;
import dev.retort.datasets.BatchLoader;
import dev.retort.runner.teachercache.TeacherTaps;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The training of one run (Lightning's fit loop): builds what the run needs (device, run folder, networks, data,
 * optimizer, modules; a checkpoint loaded on resume), then runs the {@link StepLoop} over the run's steps. At each
 * step boundary: pause, stop and module swaps ({@link ModuleSet}); each step: the {@link OptimizationStep} of the
 * {@link DistillObjective}, the fault policy, the {@link TrainingListener}s; evaluations ({@link Evaluator}) and
 * checkpoints ({@link Checkpointing}) when due. Runs on the run's own thread; clients read the {@link RunSnapshot}.
 */
final class FitLoop implements StepLoop.Body {
    private final String id;
    private final RunSettings settings;
    private final Trainer.Services services;
    private final Path resume;
    private final boolean overwrite;
    private final RunControl control;
    private final RunSnapshot.Board board;
    private final RunEvents events;
    private final Timings timings;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private long timedFrom = -1;
    private RunFolder folder;
    // built by fit(), training thread only
    private NDManager base;
    private SegmentationNetwork student;
    private SegmentationNetwork teacher;
    private TeacherTaps teacherPass;
    private ModuleSet modules;
    private OptimizationStep optimization;
    private DistillObjective objective;
    private Evaluator evaluator;
    private Checkpointing checkpoints;
    private BatchLoader valLoader;
    private SampleSource valSource;
    private RunResources resources;

    FitLoop(String id, RunSettings settings, Trainer.Services services, Path resume, RunFolder folder, boolean overwrite, RunControl control,
            RunSnapshot.Board board, RunEvents events, Timings timings, LossHistory history) {
        this.id = id;
        this.settings = settings;
        this.services = services;
        this.resume = resume;
        this.folder = folder;
        this.overwrite = overwrite;
        this.control = control;
        this.board = board;
        this.events = events;
        this.timings = timings;
        listeners.add(history);
    }

    /** Restarts the step timings when the run reaches {@code step} (before {@link #fit}). */
    void timeFrom(long step) {
        this.timedFrom = step;
    }

    /** Trains to the end, or to a stop request; throws {@link NonFiniteLoss} when the fault policy ends the run. */
    void fit() throws IOException {
        RunConfig run = settings.run();
        ModuleSet.check(settings, services.distillers());
        Engine engine = services.engine();
        Device device = Devices.resolve(engine, run.device(), events::log);
        board.update(s -> s.onDevice(device.toString()));
        base = engine.newBaseManager(device);
        openFolder(device);
        InitCheckpoint init = initCheckpoint();
        buildNetworks(run, device, init);
        SegmentationDataset dataset = services.dataset(run.data().dataset());
        int batchSize = run.optimisation().batchSize();
        try (SampleSource train = dataset.open(settings.dataPlan().train());
             SampleSource val = dataset.open(settings.dataPlan().validation());
             BatchLoader loader = new BatchLoader(train, batchSize, false, settings.threads(), settings.prefetch());
             BatchLoader valLoader = new BatchLoader(val, batchSize, false, settings.threads(), settings.prefetch())) {
            DatasetInfo info = train.info();
            long skippedAtOpen = train.skipped();
            if (batchSize > train.size()) {
                // the loader would give one short batch an epoch: not the run the file describes
                throw new RetortConfigException("batch_size " + batchSize + " is larger than the training split ("
                        + train.size() + " samples in " + run.data().trainSplit() + "): set batch_size to at most " + train.size());
            }
            if (train.fixedOrder()) events.log("data: " + dataset.name() + " is read in its own order every epoch (no shuffling)");
            this.valLoader = valLoader;
            this.valSource = val;
            board.update(s -> s.withSources(new RunSnapshot.Sources(train, val)));
            if (train.skipped() + val.skipped() > 0) {
                events.log("data.on_error = skip: " + train.skipped() + " train and " + val.skipped() + " validation samples left out when the splits were opened");
            }
            if (student.spec().classes() != info.outputs()) {
                throw new RetortConfigException("student " + run.student().variant() + " has " + student.spec().classes() + " outputs but "
                        + dataset.name() + " (" + run.data().protocol() + " protocol) needs " + info.outputs() + "; set student.num_classes = " + info.outputs());
            }
            NDArray classWeights = HostTransfers.upload(base, info.classWeights(), new Shape(info.classWeights().length));  // once per run
            AdamW optimizer = new AdamW(base, run.optimisation().weightDecay());
            int perEpoch = loader.batches();
            if (teacher != null) {
                teacherPass = TeacherTaps.open(settings.teacherCache(), run, settings.dataPlan(), settings.source(), teacher, device.toString(), events::log);
            }
            long totalSteps = run.optimisation().iterations() > 0 ? run.optimisation().iterations() : (long) run.optimisation().epochs() * perEpoch;
            board.update(s -> s.withTotalSteps(totalSteps));
            resources = new RunResources(engine, base, device.toString(), run.seed(), student, teacher, info, loader, !train.fixedOrder(), perEpoch, totalSteps);
            modules = new ModuleSet(settings, resources, control, events, board, optimizer, services::distillers,
                    new Preparations(resources, settings, control, board, events));
            optimization = new OptimizationStep(engine, base, optimizer, timings);
            objective = new DistillObjective(resources, teacherPass, modules, settings.precision(), classWeights, timings);
            checkpoints = new Checkpointing(settings, student, modules, optimizer, control, board, events, folder);
            evaluator = new Evaluator(settings, student, info, base, board, events, checkpoints);
            listeners.add(new MetricsListener(settings.logEvery(), board, events, train));
            listeners.add(new SpeedListener(board, timings, timedFrom));
            listeners.add(new ConsoleListener(board, events, train, skippedAtOpen, totalSteps, batchSize));
            modules.requireRequested();
            modules.reconcile(0);
            if (resume != null) checkpoints.restore(resume);
            if (init != null) {
                if (modules.roster() != null) init.modules(modules.roster(), events::log);
                init.report(teacher != null, events::log);
            }
            // Preparations run at step boundaries, once any saved state is loaded (a prepared module then needs none).
            modules.openPreparations();
            control.modulesChanged();
            board.update(s -> s.withState(RunState.RUNNING));
            events.event(RunEvent.Type.STARTED, Map.of("total_steps", (double) totalSteps), "run " + id);
            StepLoop loop = new StepLoop(loader, run.seed(), !train.fixedOrder(), perEpoch, new FaultPolicy.Guard(settings.onNonFinite()), timings);
            StepLoop.End end;
            try {
                end = loop.run(board.get().step(), totalSteps, this);
            } finally {
                listeners.forEach(TrainingListener::loopEnded);
            }
            if (end instanceof StepLoop.End.NonFinite n) throw stop(n);
            checkpoints.write(Checkpointing.LAST);
        }
    }

    /** The student, and the frozen teacher in its precision (or the warnings of a student-only run). */
    private void buildNetworks(RunConfig run, Device device, InitCheckpoint init) throws IOException {
        student = build(run.student(), "student");
        if (init != null) init.network("student", student, events::log);
        if (settings.precision().studentMixed()) {
            events.log("precision bf16-mixed: the student's linear, convolution and attention products in bfloat16 from float32 master weights;"
                    + " norms, softmax, losses and AdamW in float32");
        }
        settings.precision().warnings(device, Precision.cpuFlags()).forEach(events::log);
        if (run.teacher() != null) {
            SegmentationNetwork built = build(run.teacher(), "teacher");
            if (init != null) init.network("teacher", built, events::log);  // before a cast copies the weights
            teacher = settings.precision().teacher(built, device);
            events.log("teacher " + run.teacher().variant() + ": frozen, evaluation mode (BatchNorm running statistics, no dropout),"
                    + " forward without gradient" + (teacher instanceof CastTeacher c ? " in " + c.type() + " (weights cast once, taps back to float32)" : "")
                    + "; its outputs are constants for the losses");
        } else {
            events.log("no teacher: student-only baseline (modules are not used)");
            // teacher.cache, teacher.precision, … would otherwise be accepted and do nothing
            List<String> unused = settings.source().keySet().stream().filter(k -> k.startsWith("teacher.")).sorted().toList();
            if (!unused.isEmpty()) events.log("WARNING " + String.join(", ", unused) + " configure nothing: this run has no teacher");
        }
    }

    /** The run's {@code init} file, indexed; null when there is none or the run resumes (the checkpoint is later). */
    private InitCheckpoint initCheckpoint() throws IOException {
        Path file = settings.init();
        if (file == null) return null;
        if (resume != null) {
            events.log("init = " + file + " not applied: the run resumes from " + resume);
            return null;
        }
        events.log("init: weights from " + file + " (not its optimiser state: AdamW starts afresh at step 0)");
        return InitCheckpoint.open(file);
    }

    private void openFolder(Device device) throws IOException {
        if (folder == null) folder = RunFolder.claim(settings.output(), resume, overwrite);
        // a resumed run's files change only once its checkpoint is accepted (Checkpointing.restore): a refused resume keeps their history
        MetricsLog files = resume != null ? MetricsLog.held(settings.output()) : new MetricsLog(settings.output(), false);
        events.open(files);
        files.writeRunFile(settings.toFileText());
        events.log("run " + id + " on " + device + " -> " + settings.output());
        folder.notes().forEach(events::log);
    }

    // ---- StepLoop.Body ---------------------------------------------------------------------------------------

    /** Pause, stop and module swaps happen here, between steps. Returns false to stop. */
    @Override
    public boolean boundary(long step) {
        while (control.paused() && !control.stopRequested()) {
            if (board.get().state() != RunState.PAUSED) {
                board.update(s -> s.withState(RunState.PAUSED));
                events.log("paused at step " + step);
                events.event(RunEvent.Type.PAUSED, Map.of(), "paused");
            }
            control.awaitResume();
        }
        if (board.get().state() == RunState.PAUSED) {
            board.update(s -> s.withState(RunState.RUNNING));
            events.log("resumed at step " + step);
            events.event(RunEvent.Type.RESUMED, Map.of(), "resumed");
        }
        if (control.stopRequested()) {
            events.log("stop requested: stopping at step " + step);
            return false;
        }
        if (control.takeModulesDirty()) modules.reconcile(step);
        if (control.stopRequested()) {  // requested while a module prepared
            events.log("stop requested: stopping at step " + step);
            return false;
        }
        listeners.forEach(l -> l.beforeStep(step));
        return true;
    }

    @Override
    public StepOutcome step(long step, int epoch, Batch batch) {
        board.update(s -> s.inEpoch(epoch));
        double lr = learningRate(epoch, step);
        StepOutcome outcome = optimization.run(objective, batch, step, epoch, lr);
        if (outcome instanceof StepOutcome.Done d) {
            board.update(s -> s.withLast(new RunSnapshot.LastStep(d.terms(), d.weights())));
        } else if (outcome instanceof StepOutcome.NonFinite n && !n.badGradients().isEmpty()) {
            events.log("non-finite gradients at step " + step + " (loss " + n.terms() + ") in " + n.badGradients().size() + " parameters, e.g. "
                    + String.join(", ", n.badGradients().subList(0, Math.min(6, n.badGradients().size()))));
        } else if (outcome instanceof StepOutcome.ModuleFailed f) {
            moduleFailed(step, f);
        }
        for (TrainingListener l : listeners) l.stepEnded(step, lr, outcome);
        return outcome;
    }

    @Override
    public void after(long done, int epoch, Batch batch, StepOutcome outcome, long nanos) throws IOException {
        if (outcome instanceof StepOutcome.NonFinite n) {
            events.log("non-finite loss at step " + (done - 1) + " " + n.terms() + ": step skipped" + nonFiniteParameters());
        }
        board.update(s -> s.atStep(done));
        for (TrainingListener l : listeners) l.stepCounted(done, batch, nanos);
        var opt = settings.run().optimisation();
        boolean epochEnd = done % resources.stepsPerEpoch() == 0;
        boolean evalDue = opt.iterations() > 0 ? done % opt.evalEvery() == 0 : epochEnd && epoch % opt.evalEvery() == 0;
        if (evalDue || done == board.get().totalSteps()) evaluator.evaluate(valLoader, valSource);
        if (settings.checkpointEvery() > 0 && done % settings.checkpointEvery() == 0) checkpoints.write(Checkpointing.LAST);
    }

    private void moduleFailed(long step, StepOutcome.ModuleFailed failed) {
        var f = failed.failure();
        if (settings.onModuleError() == FaultPolicy.ModuleError.DISABLE) {
            events.log("module " + f.module() + " threw at step " + step + " (" + Failures.describe(f.getCause()) + "): step skipped, module disabled");
            control.disable(f.module(), "kd:disable");
        } else {
            events.log("module " + f.module() + " threw at step " + step + " (" + Failures.describe(f.getCause()) + "): step skipped");
        }
    }

    /** What the fault policy says when it ends the run: logged, a stop requested, and the exception that ends it. */
    private NonFiniteLoss stop(StepLoop.End.NonFinite n) {
        control.stop();
        if (n.verdict() == FaultPolicy.Verdict.DIVERGED) {
            events.log(FaultPolicy.NON_FINITE_LIMIT + " non-finite losses in a row up to step " + n.step() + ": the parameters have diverged; stopping."
                    + " Lower the learning rate (now " + settings.run().optimisation().learningRate() + ") and resume from "
                    + settings.output().resolve(Checkpointing.BEST) + " or start again");
            return new NonFiniteLoss("diverged: " + FaultPolicy.NON_FINITE_LIMIT + " non-finite losses in a row at step " + n.step());
        }
        events.log("non-finite loss at step " + n.step() + " " + n.outcome().terms() + ": stopping; the last good checkpoint is "
                + settings.output().resolve(Checkpointing.LAST));
        return new NonFiniteLoss("non-finite loss at step " + n.step() + ": " + n.outcome().terms());
    }

    /** Polynomial decay, power 1: lr·(1 − e/decay_steps) per epoch (reference), or per iteration; constant for decay_steps 0. */
    double learningRate(int epochIndex, long step) {
        var opt = settings.run().optimisation();
        if (opt.decaySteps() == 0) return opt.learningRate();
        double progress = opt.decayPerEpoch() ? epochIndex : step;
        return opt.learningRate() * Math.max(0, 1 - progress / Math.max(1, opt.decaySteps()));
    }

    /** Names of parameters holding NaN or infinite values, to tell a bad batch from diverged weights. */
    private String nonFiniteParameters() {
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : modules.trainable().entrySet()) {
            try (NDManager sm = base.newSubManager()) {
                NDArray finite = e.getValue().getArray().isInfinite().logicalOr(e.getValue().getArray().isNaN());
                finite.attach(sm);
                if (HostTransfers.bool(finite.any())) bad.add(e.getKey());  // only once a run has failed
            }
        }
        return bad.isEmpty() ? " (all parameters finite)" : " (non-finite parameters: " + String.join(", ", bad.subList(0, Math.min(8, bad.size())))
                + (bad.size() > 8 ? ", …" : "") + ")";
    }

    private SegmentationNetwork build(ModelRef ref, String role) throws IOException {
        SegmentationNetwork net = services.backbone(ref.variant()).build(ref.variant(), ref.config(), base, settings.run().seed() + (role.equals("teacher") ? 1 : 0));
        if (ref.weights() != null) {
            var report = net.load(ref.weights(), LoadMode.STRICT);
            events.log(role + " " + ref.variant() + ": " + report.loaded() + " tensors from " + ref.weights() + " (" + report.naming() + " naming)");
            report.warnings().forEach(w -> events.log("WARNING " + role + " weights: " + w));
        } else {
            events.log(role + " " + ref.variant() + ": initialised from seed (no weights)");
        }
        return net;
    }

    /** Managed NDArrays of the run's manager (including open step scopes); for leak checks. */
    int liveArrays() {
        NDManager m = base;
        return m == null ? 0 : ((ai.djl.ndarray.BaseNDManager) m).getManagedArrays().size();
    }

    /** Closes what the run built and releases its folder. */
    void close() {
        if (modules != null) modules.close();
        if (student != null) student.close();
        if (teacherPass != null) teacherPass.close();
        if (teacher != null) teacher.close();
        if (base != null) base.close();
        events.close();
        if (folder != null) folder.close();
    }
}
