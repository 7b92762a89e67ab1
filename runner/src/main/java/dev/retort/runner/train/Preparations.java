package dev.retort.runner.train;

import dev.retort.api.error.Failures;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.Labels;
import dev.retort.api.distill.Preparation;
import dev.retort.api.distill.PreparationStep;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.run.RunConfig;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunStatus;
import dev.retort.api.tap.TapValues;
import dev.retort.datasets.Batch;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.runner.teachercache.WeightDigest;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Runs the preparation phase a module asks for ({@link DistillationModule#preparation()}) when it joins a run: the
 * frozen teacher (evaluation mode, no gradient) on the run's training batches, in the order the run's own epochs
 * would give them (seed, epoch, batch), the phase's loss, and an AdamW of its own over the phase's parameters with
 * the phase's learning rate (constant) and weight decay; then {@link Preparation#finish()} freezes them. The steps
 * are the run's own: the same {@link StepLoop} (batch order, non-finite policy), the same {@link OptimizationStep}
 * (batch to tensors, finiteness checks, backward, AdamW update), with the phase's {@link StepObjective}; the answer
 * is a {@link ModuleReconciler.Prepared}.
 *
 * <p>A finished preparation is cached in the run's {@code preparation_cache} folder (default
 * {@code <output>/preparations}) under a key of the teacher's weights (a SHA-256 of their values), the data (dataset,
 * root, split, protocol, options, batch size, seed), the module's configuration and the phase itself; a later run with
 * the same key (another arm of an ablation pointed at the same folder, a run started again) loads it instead.
 */
final class Preparations {
    /** How {@link ModuleReconciler} words a preparation that a stop request ended. */
    static final String STOPPED = "was interrupted by a stop request";

    private final RunResources run;
    private final RunSettings settings;
    private final RunControl control;
    private final RunSnapshot.Board board;
    private final RunEvents events;
    private String teacherDigest;

    Preparations(RunResources run, RunSettings settings, RunControl control, RunSnapshot.Board board, RunEvents events) {
        this.run = run;
        this.settings = settings;
        this.control = control;
        this.board = board;
        this.events = events;
    }

    /** Asks {@code module} for its preparation and runs it (or loads it from the cache). */
    ModuleReconciler.Prepared prepare(String name, Distiller distiller, Map<String, ?> config, DistillationModule module) {
        Preparation p;
        try {
            Optional<Preparation> asked = module.preparation();
            if (asked.isEmpty()) return ModuleReconciler.Prepared.READY;
            p = asked.get();
        } catch (RuntimeException | LinkageError e) {
            return new ModuleReconciler.Prepared.Failed("preparation() threw " + Failures.describe(e));
        }
        long t0 = System.nanoTime();
        long steps = p.steps();
        if (steps < 1) return new ModuleReconciler.Prepared.Failed("it asks for " + steps + " steps");
        Map<String, Parameter> parameters = new LinkedHashMap<>();
        p.parameters().forEach((k, v) -> parameters.put(ModuleRoster.key(name, k), v));
        preparing(List.of(new RunStatus.Preparing(name, 0, steps, Double.NaN)));
        events.event(RunEvent.Type.PREPARING, Map.of("steps", (double) steps), name);
        try {
            String description = description(name, distiller, config, p);
            String key = key(description);
            Path cached = settings.preparationCache().resolve(name + "-" + key + ".safetensors");
            if (Files.isRegularFile(cached)) {
                try {
                    double loss = load(cached, p, events::log);
                    p.finish();
                    events.log("preparation of " + name + " reused from " + cached + " (same teacher weights, data, seed and configuration;"
                            + " its last loss " + format(loss) + ")");
                    events.event(RunEvent.Type.PREPARED, values(steps, loss, t0, true), name);
                    return ModuleReconciler.Prepared.READY;
                } catch (IOException | RuntimeException e) {
                    events.log("WARNING preparation cache " + cached + " cannot be used (" + Failures.describe(e) + "); preparing again");
                }
            }
            events.log("preparing " + name + " before it distils: " + steps + " steps on the frozen teacher, AdamW lr " + p.learningRate()
                    + " weight decay " + p.weightDecay() + ", " + parameters.values().stream().mapToLong(q -> q.getArray().size()).sum()
                    + " parameters (" + String.join(", ", p.parameters().keySet()) + "); the run's steps wait meanwhile");
            Phase phase = new Phase(name, p);
            ModuleReconciler.Prepared ended = phase.run(parameters, steps);
            if (!(ended instanceof ModuleReconciler.Prepared.Ready)) {
                events.log("preparation of " + name + " " + (ended instanceof ModuleReconciler.Prepared.Failed f ? "failed: " + f.reason()
                        : ended instanceof ModuleReconciler.Prepared.Stopped s ? STOPPED + " at step " + s.step() + " of " + s.steps() : "ended"));
                return ended;
            }
            p.finish();
            double loss = phase.lastLoss;
            events.log(String.format("prepared %s in %.1f s: loss %s at its last step (%s at its first); its %d parameters are frozen and leave the optimiser",
                    name, (System.nanoTime() - t0) / 1e9, format(loss), format(phase.firstLoss), parameters.size()));
            try {
                save(cached, p, description, loss);
            } catch (IOException e) {
                events.log("WARNING the preparation of " + name + " could not be cached in " + cached + ": " + Failures.describe(e));
            }
            events.event(RunEvent.Type.PREPARED, values(steps, loss, t0, false), name);
            return ModuleReconciler.Prepared.READY;
        } catch (RuntimeException | LinkageError e) {
            return new ModuleReconciler.Prepared.Failed(Failures.describe(e));
        } finally {
            preparing(List.of());
        }
    }

    private void preparing(List<RunStatus.Preparing> now) {
        board.update(s -> s.withPreparing(now));
    }

    /**
     * One preparation phase on the run's step loop: the frozen teacher (evaluation mode, no gradient) on the run's
     * training batches in the run's order, the phase's loss, an AdamW of its own over the phase's parameters with the
     * phase's constant learning rate and weight decay; non-finite steps are skipped up to the run's limit in a row.
     */
    private final class Phase implements StepObjective, StepLoop.Body {
        private final String name;
        private final Preparation p;
        private final long every;
        private long steps;
        private StepLoop loop;
        private OptimizationStep optimization;
        double firstLoss = Double.NaN, lastLoss = Double.NaN;

        Phase(String name, Preparation p) {
            this.name = name;
            this.p = p;
            this.every = Math.max(1, p.steps() / 10);
        }

        ModuleReconciler.Prepared run(Map<String, Parameter> parameters, long steps) {
            this.steps = steps;
            AdamW optimizer = new AdamW(run.base(), p.weightDecay());
            optimizer.parameters(parameters);
            optimization = new OptimizationStep(run.engine(), run.base(), optimizer, null);
            // the run's own batch order: epoch e of the run's seed, from its first batch; the skip policy whatever the run's
            loop = new StepLoop(run.trainLoader(), settings.run().seed(), run.shuffle(), run.stepsPerEpoch(), new FaultPolicy.Guard(FaultPolicy.NonFinite.SKIP), null);
            try {
                StepLoop.End end = loop.run(0, steps, this);
                if (end instanceof StepLoop.End.Interrupted i) return new ModuleReconciler.Prepared.Stopped(i.step(), steps);
                if (end instanceof StepLoop.End.NonFinite n) {
                    skipped(n.step());
                    return new ModuleReconciler.Prepared.Failed(n.inARow() + " non-finite losses in a row up to step " + n.step());
                }
                return ModuleReconciler.Prepared.READY;
            } catch (IOException e) {
                return new ModuleReconciler.Prepared.Failed("the training data: " + Failures.describe(e));
            } finally {
                optimizer.release(parameters.keySet());
            }
        }

        @Override
        public boolean boundary(long step) {
            return !control.stopRequested();
        }

        @Override
        public StepOutcome step(long step, int epoch, Batch batch) {
            return optimization.run(this, batch, step, epoch, p.learningRate());
        }

        @Override
        public void after(long done, int epoch, Batch batch, StepOutcome outcome, long nanos) {
            if (!(outcome instanceof StepOutcome.Done d)) {
                skipped(done - 1);
                return;
            }
            double loss = d.value();
            if (Double.isNaN(firstLoss)) firstLoss = loss;
            lastLoss = loss;
            preparing(List.of(new RunStatus.Preparing(name, done, steps, loss)));
            if (done % every == 0 || done == 1) events.log("preparing " + name + ": step " + done + "/" + steps + " loss " + format(loss));
        }

        private void skipped(long step) {
            events.log("preparation of " + name + ": non-finite loss at step " + step + ", step skipped");
        }

        /** Teacher forward without gradient, then the phase's loss. */
        @Override
        public Forward begin(BatchTensors batch, NDManager scope, long step, int epoch) {
            TapValues teacher = run.teacher().forward(batch.images(), false);
            DatasetInfo info = run.info();
            TrainingProgress progress = new TrainingProgress(step, steps, epoch, loop.epochs(steps));
            return () -> {
                NDArray loss = p.loss(new PreparationStep(teacher, new Labels(batch.labels(), info.ignoreClass(), info.classes().size()), progress, scope));
                return new Objective.Parts(loss, List.of(Objective.TOTAL), Objective.element(loss), Map.of());
            };
        }
    }

    // ---- the cache ---------------------------------------------------------------------------------------------

    /**
     * The cache key: what a preparation's result depends on, hashed: the teacher's weights (their values), the data and its order
     * (dataset, root, split, protocol, options, batch size, seed), the module (its distiller's options in force, or its
     * description and the run's section) and the phase (steps, learning rate, weight decay, the trained parameters'
     * names, shapes and initial values).
     */
    static String key(String description) {
        return WeightDigest.hex(description, 20);
    }

    /** The text {@link #key} hashes (also saved in the cache file's metadata, for whoever wonders what a key stands for). */
    String description(String name, Distiller distiller, Map<String, ?> config, Preparation p) {
        RunConfig run = settings.run();
        StringBuilder b = new StringBuilder();
        b.append("teacher ").append(run.teacher().variant()).append(' ').append(teacherDigest()).append('\n');
        b.append("data ").append(run.data().dataset()).append(" root ").append(run.data().root()).append(" split ").append(run.data().trainSplit())
                .append(" protocol ").append(run.data().protocol()).append(" options ").append(new TreeMap<>(run.data().options()))
                .append(" batch ").append(run.optimisation().batchSize()).append(" seed ").append(run.seed()).append('\n');
        Map<String, Object> section = new TreeMap<>();
        if (config != null) config.forEach(section::put);
        String options = distiller instanceof ConfiguredDistiller<?> c ? String.valueOf(c.options(this.run.context(config))) : distiller.description() + " " + section;
        b.append("module ").append(name).append(' ').append(options).append('\n');
        b.append("phase ").append(p.steps()).append(" steps, lr ").append(p.learningRate()).append(", weight decay ").append(p.weightDecay());
        MessageDigest init = WeightDigest.sha256();
        p.parameters().forEach((k, v) -> {
            b.append(", ").append(k).append(Arrays.toString(v.getArray().getShape().getShape()));
            WeightDigest.update(init, v.getArray().toFloatArray());
        });
        b.append(", initial values ").append(HexFormat.of().formatHex(init.digest()));
        return b.toString();
    }

    /** SHA-256 of the teacher's parameters and buffers (names, shapes, values), computed once per run. */
    private String teacherDigest() {
        if (teacherDigest == null) teacherDigest = WeightDigest.of(run.teacher());
        return teacherDigest;
    }

    private static void save(Path file, Preparation p, String description, double loss) throws IOException {
        Files.createDirectories(file.getParent());
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "Retort preparation cache")
                .metadata("retort.preparation", description).metadata("retort.preparation.loss", String.valueOf(loss));
        p.parameters().forEach((k, v) -> w.add(k, v.getArray(), DType.F32));
        w.write(file);
    }

    /**
     * Loads a cached preparation into the phase's parameters (all checked first: checksums, shapes, finite values);
     * returns its recorded loss.
     */
    private static double load(Path file, Preparation p, java.util.function.Consumer<String> log) throws IOException {
        Map<Parameter, float[]> values = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            f.verify();
            if (!f.hasChecksums()) log.accept("preparation cache " + file + " carries no checksums (written before Retort checksummed its files): read without verification");
            for (Map.Entry<String, Parameter> e : p.parameters().entrySet()) {
                if (!f.contains(e.getKey())) throw new IOException("it lacks " + e.getKey());
                long[] shape = f.info(e.getKey()).shape(), expected = e.getValue().getArray().getShape().getShape();
                if (!Arrays.equals(shape, expected)) throw new IOException(e.getKey() + " is " + Arrays.toString(shape) + ", not " + Arrays.toString(expected));
                float[] v = f.readFloats(e.getKey());
                for (float x : v) if (!Float.isFinite(x)) throw new IOException(e.getKey() + " holds NaN or infinite values");
                values.put(e.getValue(), v);
            }
            values.forEach((q, v) -> q.getArray().set(FloatBuffer.wrap(v)));
            return Double.parseDouble(f.metadata().getOrDefault("retort.preparation.loss", "NaN"));
        }
    }

    private static Map<String, Double> values(long steps, double loss, long t0, boolean cached) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("steps", (double) steps);
        m.put("loss", loss);
        m.put("seconds", (System.nanoTime() - t0) / 1e9);
        m.put("cached", cached ? 1.0 : 0.0);
        return m;
    }

    private static String format(double v) {
        return String.format("%.5f", v);
    }
}
