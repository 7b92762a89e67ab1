package dev.retort.runner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Run checkpoints as one safetensors file, written atomically (temporary file, fsync, rename): the student under
 * {@code student.<key>} and the modules under their own reference keys (the layout of TransKD's checkpoints), the
 * AdamW state under {@code optim.m.*}, {@code optim.v.*}, {@code optim.t.*}, and the step, best mIoU and run file in
 * the metadata. Data order and dropout depend on (seed, epoch, step) only, so no generator state is needed.
 */
final class Checkpoints {
    record State(long step, double bestMiou, Map<String, String> metadata) {}

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

    static State read(Path file, SegmentationNetwork student, Map<String, Parameter> modules, AdamW optimizer) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            for (Map.Entry<String, Parameter> e : student.parameters().entrySet()) assign(f, "student." + e.getKey(), e.getValue());
            for (Map.Entry<String, Parameter> e : modules.entrySet()) {
                if (f.contains(e.getKey())) assign(f, e.getKey(), e.getValue());
            }
            for (String k : optimizer.parameters().keySet()) {
                if (f.contains("optim.m." + k)) {
                    optimizer.restore(k, f.readFloats("optim.m." + k), f.readFloats("optim.v." + k), f.readLongs("optim.t." + k)[0]);
                }
            }
            Map<String, String> meta = f.metadata();
            return new State(Long.parseLong(meta.getOrDefault("retort.step", "0")), Double.parseDouble(meta.getOrDefault("retort.best_miou", "-1")), meta);
        }
    }

    private static void assign(SafeTensorsFile f, String key, Parameter p) throws IOException {
        if (!f.contains(key)) throw new IOException(f.path() + ": checkpoint lacks " + key);
        long[] shape = f.info(key).shape();
        if (!java.util.Arrays.equals(shape, p.getArray().getShape().getShape())) {
            throw new IOException(f.path() + ": " + key + " is " + java.util.Arrays.toString(shape) + ", the run has " + p.getArray().getShape());
        }
        p.getArray().set(java.nio.FloatBuffer.wrap(f.readFloats(key)));
    }
}
