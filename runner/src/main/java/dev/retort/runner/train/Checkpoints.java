package dev.retort.runner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.error.RetortConfigException;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsWriter;
import dev.retort.safetensors.TensorSource;
import dev.retort.weights.WeightFiles;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Run checkpoints as one safetensors file, written atomically (temporary file, fsync, rename): the student under
 * {@code student.<key>} and each module under {@code modules.<module>.<reference key>} (the reference's names
 * inside a namespace per module; reading also takes TransKD's bare keys), the
 * AdamW state under {@code optim.m.*}, {@code optim.v.*}, {@code optim.t.*}, and the step, best mIoU and run file in
 * the metadata. Data order and dropout depend on (seed, epoch, step) only, so no generator state is needed. The
 * writer stores each tensor's CRC32C; reading verifies them all before anything is restored.
 */
final class Checkpoints {
    /** @param notes what the reader did beyond the plain case, for the run's log */
    record State(long step, double bestMiou, Map<String, String> metadata, List<String> notes) {}

    private Checkpoints() {}

    static void write(Path file, SegmentationNetwork student, Map<String, Parameter> modules, AdamW optimizer, Map<String, String> metadata)
            throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "Retort checkpoint (TransKD key names)");
        metadata.forEach(w::metadata);
        student.parameters().forEach((k, p) -> w.add("student." + k, p.getArray(), DType.F32));
        modules.forEach((k, p) -> w.add(k, p.getArray(), DType.F32));
        for (Map.Entry<String, NDArray> e : optimizer.firstMoments().entrySet()) {
            String k = e.getKey();
            w.add("optim.m." + k, e.getValue(), DType.F32);
            w.add("optim.v." + k, optimizer.secondMoments().get(k), DType.F32);
            w.add("optim.t." + k, new long[0], new long[] {optimizer.steps().get(k)}, DType.I64);
        }
        w.write(file);
    }

    /** The run description a checkpoint carries in its metadata ({@code retort.run}, a run file). */
    static Map<String, Object> runDescription(Path checkpoint) throws IOException {
        try (TensorSource f = WeightFiles.open(checkpoint)) {
            String text = f.metadata().get("retort.run");
            if (text == null) {
                throw new RetortConfigException(checkpoint + " is not a Retort run checkpoint (no retort.run metadata: it is a " + f.format()
                        + "), so it names no run, variant or dataset; evaluate it with kd:eval --variant V --dataset D --root R, or load it as a run's teacher.weights or student.weights");
            }
            Properties p = new Properties();
            p.load(new StringReader(text));
            Map<String, Object> m = new LinkedHashMap<>();
            p.forEach((k, v) -> m.put(k.toString(), v.toString()));
            return m;
        }
    }

    /**
     * Restores a checkpoint into the run: the student ({@code student.*}, required), the modules under their
     * namespaced keys or, for TransKD checkpoints and Retort checkpoints written before namespaces, under their bare
     * reference keys ({@code references}: namespaced key → reference key), and the AdamW state of the parameters
     * the run has. Every tensor is checked first: non-finite parameters, non-finite first moments, negative or
     * non-finite second moments and negative step counts refuse the file, naming the tensors; nothing is changed then.
     * A TransKD checkpoint ({@code .pth.tar}, read through {@link WeightFiles}; nn.DataParallel's {@code module.} removed)
     * gives the student and the modules; its AdamW state is indexed by parameter position, which is not mapped, so the
     * optimizer and the step start afresh, as the notes say.
     */
    static State read(Path file, SegmentationNetwork student, Map<String, Parameter> modules, Map<String, String> references, AdamW optimizer)
            throws IOException {
        try (TensorSource f = WeightFiles.withoutDataParallel(WeightFiles.open(file))) {
            List<String> bad = new ArrayList<>(), notes = new ArrayList<>();
            // every tensor against its checksum, those the run does not read too: a damaged file is refused whole
            f.verify();
            if (!f.hasChecksums() && f.format().equals("safetensors")) notes.add(file + " carries no checksums (written before Retort checksummed its files): its bytes cannot be verified");
            Map<Parameter, float[]> values = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : student.parameters().entrySet()) {
                String key = "student." + e.getKey();
                values.put(e.getValue(), checked(f, key, e.getValue(), bad));
            }
            List<String> fresh = new ArrayList<>(), bare = new ArrayList<>();
            Map<String, String> sourceOf = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : modules.entrySet()) {
                String key = e.getKey(), reference = references.getOrDefault(key, key);
                String source = f.contains(key) ? key : f.contains(reference) ? reference : null;
                if (source == null) {
                    fresh.add(key);
                    continue;
                }
                if (!source.equals(key)) bare.add(reference);
                sourceOf.put(key, source);
                values.put(e.getValue(), checked(f, source, e.getValue(), bad));
            }
            record Moments(float[] m, float[] v, long t) {}
            Map<String, Moments> moments = new LinkedHashMap<>();
            for (String k : optimizer.parameters().keySet()) {
                // Optimizer state follows the key its parameter was read from (old checkpoints: bare module keys).
                String source = k.startsWith("student.") ? k : sourceOf.get(k);
                if (source == null || !f.contains("optim.m." + source)) continue;
                long[] steps = f.readLongs("optim.t." + source);
                float[] m = f.readFloats("optim.m." + source), v = f.readFloats("optim.v." + source);
                long nonFiniteM = count(m, x -> !Float.isFinite(x)), badV = count(v, x -> !Float.isFinite(x) || x < 0);
                if (nonFiniteM > 0) bad.add("optim.m." + source + " (" + nonFiniteM + " NaN or infinite values)");
                if (badV > 0) bad.add("optim.v." + source + " (" + badV + " NaN, infinite or negative values)");
                if (steps.length != 1 || steps[0] < 0) bad.add("optim.t." + source + " (step count " + Arrays.toString(steps) + ")");
                long size = optimizer.parameters().get(k).getArray().size();
                if (m.length != size || v.length != size) {
                    throw new IOException(f.path() + ": optim.m/optim.v." + source + " hold " + m.length + "/" + v.length + " values, the run's "
                            + k + " has " + size);
                }
                moments.put(k, new Moments(m, v, steps.length == 1 ? steps[0] : 0));
            }
            if (!bad.isEmpty()) {
                throw new RetortConfigException(f.path() + " is refused: " + bad.size() + " tensor(s) hold values a run cannot continue from: "
                        + String.join(", ", bad.subList(0, Math.min(12, bad.size()))) + (bad.size() > 12 ? ", … (" + (bad.size() - 12) + " more)" : ""));
            }
            // Everything was read and checked: only now touch the run.
            values.forEach((p, v) -> p.getArray().set(FloatBuffer.wrap(v)));
            moments.forEach((k, s) -> optimizer.restore(k, s.m(), s.v(), s.t()));
            if (!bare.isEmpty()) notes.add(bare.size() + " module tensors read under their bare reference keys (a TransKD or older Retort checkpoint)");
            if (!fresh.isEmpty()) {
                notes.add(fresh.size() + " module tensors not in the checkpoint start from their initialisation: "
                        + String.join(", ", fresh.subList(0, Math.min(6, fresh.size()))) + (fresh.size() > 6 ? ", …" : ""));
            }
            if (moments.isEmpty() && !f.metadata().containsKey("retort.step")) {
                notes.add("not a Retort checkpoint (" + f.format() + "): student and modules taken from it; the AdamW state and the step start"
                        + " afresh (at step 0)");
            }
            Map<String, String> meta = f.metadata();
            return new State(Long.parseLong(meta.getOrDefault("retort.step", "0")), Double.parseDouble(meta.getOrDefault("retort.best_miou", "-1")),
                    meta, notes);
        }
    }

    /** A parameter's values from the file, shape-checked; non-finite values are recorded in {@code bad}. */
    private static float[] checked(TensorSource f, String key, Parameter p, List<String> bad) throws IOException {
        if (!f.contains(key)) throw new IOException(f.path() + ": checkpoint lacks " + key);
        long[] shape = f.info(key).shape();
        if (!Arrays.equals(shape, p.getArray().getShape().getShape())) {
            throw new IOException(f.path() + ": " + key + " is " + Arrays.toString(shape) + ", the run has " + p.getArray().getShape());
        }
        float[] v = f.readFloats(key);
        long n = count(v, x -> !Float.isFinite(x));
        if (n > 0) bad.add(key + " (" + n + " NaN or infinite values)");
        return v;
    }

    private interface FloatTest {
        boolean test(float x);
    }

    private static long count(float[] values, FloatTest test) {
        long n = 0;
        for (float x : values) if (test.test(x)) n++;
        return n;
    }
}
