package dev.retort.runner.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.distill.DistillContext;
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
import dev.retort.datasets.BatchLoader;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.distill.support.ModuleRoster;
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
 * the phase's learning rate (constant) and weight decay; then {@link Preparation#finish()} freezes them.
 *
 * <p>A finished preparation is cached in the run's {@code preparation_cache} folder (default
 * {@code <output>/preparations}) under a key of the teacher's weights (a SHA-256 of their values), the data (dataset,
 * root, split, protocol, options, batch size, seed), the module's configuration and the phase itself; a later run with
 * the same key (another arm of an ablation pointed at the same folder, a run started again) loads it instead.
 */
final class Preparations {
    /** The start of {@link #prepare}'s answer when a stop request ended the phase. */
    static final String STOPPED = "was interrupted by a stop request";

    /** What a preparation needs from its run. */
    interface Host {
        SegmentationNetwork teacher();

        NDManager base();

        Engine engine();

        BatchLoader loader();

        int stepsPerEpoch();

        DatasetInfo info();

        RunSettings settings();

        boolean stopRequested();

        /** The modules preparing now, for {@code kd:status}. */
        void preparing(List<RunStatus.Preparing> now);

        void log(String line);

        void event(RunEvent.Type type, Map<String, Double> values, String message);

        DistillContext context(Map<String, ?> config);
    }

    private final Host host;
    private String teacherDigest;

    Preparations(Host host) {
        this.host = host;
    }

    /** The folder of the preparation cache. */
    static Path cacheFolder(RunSettings settings) {
        String dir = settings.source().get("preparation_cache");
        return dir == null || dir.isBlank() ? settings.output().resolve(RunFolder.PREPARATIONS) : Path.of(dir).toAbsolutePath();
    }

    /**
     * Asks {@code module} for its preparation and runs it.
     *
     * @return null when the module may distil (it needs no preparation, or it finished it), else why not ("failed: …",
     *         or {@link #STOPPED})
     */
    String prepare(String name, Distiller distiller, Map<String, ?> config, DistillationModule module) {
        Preparation p;
        try {
            Optional<Preparation> asked = module.preparation();
            if (asked.isEmpty()) return null;
            p = asked.get();
        } catch (RuntimeException | LinkageError e) {
            return "failed: preparation() threw " + Trainer.describe(e);
        }
        long t0 = System.nanoTime();
        long steps = p.steps();
        if (steps < 1) return "failed: it asks for " + steps + " steps";
        Map<String, Parameter> parameters = new LinkedHashMap<>();
        p.parameters().forEach((k, v) -> parameters.put(ModuleRoster.key(name, k), v));
        host.preparing(List.of(new RunStatus.Preparing(name, 0, steps, Double.NaN)));
        host.event(RunEvent.Type.PREPARING, Map.of("steps", (double) steps), name);
        try {
            String description = description(name, distiller, config, p);
            String key = key(description);
            Path cached = cacheFolder(host.settings()).resolve(name + "-" + key + ".safetensors");
            if (Files.isRegularFile(cached)) {
                try {
                    double loss = load(cached, p, host::log);
                    p.finish();
                    host.log("preparation of " + name + " reused from " + cached + " (same teacher weights, data, seed and configuration;"
                            + " its last loss " + format(loss) + ")");
                    host.event(RunEvent.Type.PREPARED, values(steps, loss, t0, true), name);
                    return null;
                } catch (IOException | RuntimeException e) {
                    host.log("WARNING preparation cache " + cached + " cannot be used (" + Trainer.describe(e) + "); preparing again");
                }
            }
            host.log("preparing " + name + " before it distils: " + steps + " steps on the frozen teacher, AdamW lr " + p.learningRate()
                    + " weight decay " + p.weightDecay() + ", " + parameters.values().stream().mapToLong(q -> q.getArray().size()).sum()
                    + " parameters (" + String.join(", ", p.parameters().keySet()) + "); the run's steps wait meanwhile");
            String failed = run(name, p, parameters, steps);
            if (failed != null) {
                host.log("preparation of " + name + " " + failed);
                return failed;
            }
            p.finish();
            double loss = lastLoss;
            host.log(String.format("prepared %s in %.1f s: loss %s at its last step (%s at its first); its %d parameters are frozen and leave the optimiser",
                    name, (System.nanoTime() - t0) / 1e9, format(loss), format(firstLoss), parameters.size()));
            try {
                save(cached, p, description, loss);
            } catch (IOException e) {
                host.log("WARNING the preparation of " + name + " could not be cached in " + cached + ": " + Trainer.describe(e));
            }
            host.event(RunEvent.Type.PREPARED, values(steps, loss, t0, false), name);
            return null;
        } catch (RuntimeException | LinkageError e) {
            return "failed: " + Trainer.describe(e);
        } finally {
            host.preparing(List.of());
        }
    }

    private double firstLoss = Double.NaN, lastLoss = Double.NaN;

    /** The phase's steps; null when done, else why it ended early. */
    private String run(String name, Preparation p, Map<String, Parameter> parameters, long steps) {
        RunConfig run = host.settings().run();
        AdamW optimizer = new AdamW(host.base(), p.weightDecay());
        optimizer.parameters(parameters);
        BatchLoader.Epoch epoch = null;
        int currentEpoch = -1, nonFinite = 0;
        firstLoss = Double.NaN;
        lastLoss = Double.NaN;
        long every = Math.max(1, steps / 10);
        try {
            for (long s = 0; s < steps; s++) {
                if (host.stopRequested()) return STOPPED + " at step " + s + " of " + steps;
                // the run's own batch order: epoch e of the run's seed, from its first batch
                int perEpoch = host.stepsPerEpoch(), e = (int) (s / perEpoch) + 1, b = (int) (s % perEpoch);
                if (epoch == null || e != currentEpoch) {
                    if (epoch != null) epoch.close();
                    epoch = host.loader().epoch(run.seed(), e, true, b);
                    currentEpoch = e;
                }
                Batch batch = epoch.next();
                int epochs = (int) Math.max(1, (steps + perEpoch - 1) / perEpoch);
                double loss = step(p, optimizer, batch, new TrainingProgress(s, steps, e, epochs));
                if (!Double.isFinite(loss)) {
                    host.log("preparation of " + name + ": non-finite loss at step " + s + ", step skipped");
                    if (++nonFinite >= Trainer.NON_FINITE_LIMIT) return "failed: " + nonFinite + " non-finite losses in a row up to step " + s;
                    continue;
                }
                nonFinite = 0;
                if (Double.isNaN(firstLoss)) firstLoss = loss;
                lastLoss = loss;
                host.preparing(List.of(new RunStatus.Preparing(name, s + 1, steps, loss)));
                if ((s + 1) % every == 0 || s == 0) host.log("preparing " + name + ": step " + (s + 1) + "/" + steps + " loss " + format(loss));
            }
            return null;
        } catch (IOException e) {
            return "failed: the training data: " + Trainer.describe(e);
        } finally {
            if (epoch != null) epoch.close();
            optimizer.release(parameters.keySet());
        }
    }

    /** One step: teacher forward without gradient, the phase's loss, backward, an AdamW update; the loss, or NaN when skipped. */
    private double step(Preparation p, AdamW optimizer, Batch batch, TrainingProgress progress) {
        try (NDManager sm = host.base().newSubManager()) {
            NDArray images = sm.create(batch.images(), new Shape(batch.size(), 3, batch.height(), batch.width()));
            long[] labelValues = new long[batch.labels().length];
            for (int i = 0; i < labelValues.length; i++) labelValues[i] = batch.labels()[i];
            NDArray labels = sm.create(labelValues, new Shape(batch.size(), batch.labelHeight(), batch.labelWidth()));
            TapValues teacher = host.teacher().forward(images, false);
            DatasetInfo info = host.info();
            double value;
            try (GradientCollector collector = host.engine().newGradientCollector()) {
                NDArray loss = p.loss(new PreparationStep(teacher, new Labels(labels, info.ignoreClass(), info.classes().size()), progress, sm));
                value = loss.getFloat();
                if (!Double.isFinite(value)) return Double.NaN;
                collector.backward(loss);
            }
            if (!optimizer.nonFiniteGradients().isEmpty()) {
                optimizer.zeroGradients();
                return Double.NaN;
            }
            optimizer.step(p.learningRate());
            optimizer.zeroGradients();
            return value;
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
        RunConfig run = host.settings().run();
        StringBuilder b = new StringBuilder();
        b.append("teacher ").append(run.teacher().variant()).append(' ').append(teacherDigest()).append('\n');
        b.append("data ").append(run.data().dataset()).append(" root ").append(run.data().root()).append(" split ").append(run.data().trainSplit())
                .append(" protocol ").append(run.data().protocol()).append(" options ").append(new TreeMap<>(run.data().options()))
                .append(" batch ").append(run.optimisation().batchSize()).append(" seed ").append(run.seed()).append('\n');
        Map<String, Object> section = new TreeMap<>();
        if (config != null) config.forEach(section::put);
        String options = distiller instanceof ConfiguredDistiller<?> c ? String.valueOf(c.options(host.context(config))) : distiller.description() + " " + section;
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
        if (teacherDigest == null) teacherDigest = WeightDigest.of(host.teacher());
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
