package dev.retort.runner.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.distill.Labels;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Probe;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.Losses;
import dev.retort.distill.support.Objective;
import dev.retort.nn.Ops;
import dev.retort.nn.Scope;
import dev.retort.runner.teachercache.TeacherTaps;
import java.util.ArrayList;
import java.util.List;

/**
 * A training step's loss: the frozen teacher's taps (through the teacher-output cache when it is on), the student's
 * forward in its precision, class-weighted cross-entropy and the active modules' terms ({@link Objective}).
 * Dropout and drop-path masks depend on the seed and the step only.
 */
final class DistillObjective implements StepObjective {
    private final RunResources run;
    private final TeacherTaps teacherPass;
    private final ModuleSet modules;
    private final Precision precision;
    private final NDArray classWeights;
    private final Timings timings;

    DistillObjective(RunResources run, TeacherTaps teacherPass, ModuleSet modules, Precision precision, NDArray classWeights, Timings timings) {
        this.run = run;
        this.teacherPass = teacherPass;
        this.modules = modules;
        this.precision = precision;
        this.classWeights = classWeights;
        this.timings = timings;
    }

    @Override
    public Forward begin(BatchTensors batch, NDManager scope, long step, int epoch) {
        Engine engine = run.engine();
        engine.setRandomSeed((int) (run.seed() * 1_000_003L + step));  // dropout/drop path depend on seed and step only
        long t = System.nanoTime();
        TapValues teacherTaps = run.teacher() != null && !modules.active().isEmpty()
                ? teacherPass.forward(run.teacher(), batch.images(), batch.batch(), epoch, modules.active(), scope) : null;
        // The training forward updates BatchNorm running statistics in place before the loss can be checked.
        List<NDArray[]> runningStats = snapshotBuffers(scope);
        if (teacherTaps != null) timings.teacherComputed(teacherTaps.values().keySet());
        timings.end("teacher forward", t, batch.images());
        return new DistillForward(batch, scope, teacherTaps, runningStats, progress(step, epoch));
    }

    /** Where training stands at {@code step} (what progress-dependent losses read). */
    private TrainingProgress progress(long step, int epoch) {
        long total = run.totalSteps();
        int totalEpochs = (int) Math.max(1, (total + run.stepsPerEpoch() - 1) / run.stepsPerEpoch());
        return new TrainingProgress(step, total, Math.min(Math.max(1, epoch), totalEpochs), totalEpochs);
    }

    /** Copies of every buffer (BatchNorm running statistics) of the student and the active modules, in the step's scope. */
    private List<NDArray[]> snapshotBuffers(NDManager scope) {
        List<NDArray[]> saved = new ArrayList<>();
        for (Parameter p : modules.trainable().values()) {
            if (p.requiresGradient()) continue;
            NDArray copy = p.getArray().duplicate();
            copy.attach(scope);
            saved.add(new NDArray[] {p.getArray(), copy});
        }
        return saved;
    }

    /** One training step's forward. */
    private final class DistillForward implements Forward {
        private final BatchTensors batch;
        private final NDManager scope;
        private final TapValues teacherTaps;
        private final List<NDArray[]> runningStats;
        private final TrainingProgress progress;

        DistillForward(BatchTensors batch, NDManager scope, TapValues teacherTaps, List<NDArray[]> runningStats, TrainingProgress progress) {
            this.batch = batch;
            this.scope = scope;
            this.teacherTaps = teacherTaps;
            this.runningStats = runningStats;
            this.progress = progress;
        }

        @Override
        public Objective.Parts loss() {
            DatasetInfo info = run.info();
            long t = System.nanoTime();
            NDArray ce;
            List<LossTerm> moduleTerms = List.of();
            // bf16-mixed: products in bfloat16 for the student's and the modules' forward (their backward follows the graph)
            try (Scope products = precision.studentProducts()) {
                TapValues studentTaps = run.student().forward(batch.images(), true);
                NDArray logits = studentTaps.get(TapNames.LOGITS);
                if (logits.getShape().get(2) != batch.batch().labelHeight() || logits.getShape().get(3) != batch.batch().labelWidth()) {
                    logits = Ops.resizeBilinear(logits, batch.batch().labelHeight(), batch.batch().labelWidth());
                }
                ce = Losses.weightedCrossEntropy(logits, batch.labels(), classWeights, info.ignoreClass() >= info.outputs() ? info.ignoreClass() : -1);
                timings.end("student forward", t, batch.images());
                if (teacherTaps != null) {
                    t = System.nanoTime();
                    moduleTerms = modules.roster().forward(teacherTaps, studentTaps, true, scope, Probe.NONE, progress,
                            new Labels(batch.labels(), info.ignoreClass(), info.classes().size()));
                    timings.end("module forward", t, batch.images());
                }
            }
            return Objective.parts(ce, moduleTerms);
        }

        /** Puts the buffers back as they were before a step that is skipped, so it leaves no trace. */
        @Override
        public void undo() {
            for (NDArray[] pair : runningStats) pair[0].set(new NDIndex("..."), pair[1]);
        }
    }
}
