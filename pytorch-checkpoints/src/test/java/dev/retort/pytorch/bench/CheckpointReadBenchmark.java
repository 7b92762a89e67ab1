package dev.retort.pytorch.bench;

import dev.retort.pytorch.TorchCheckpoint;
import dev.retort.pytorch.TorchSaveWriter;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import dev.retort.safetensors.TensorSource;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reading a MiT-B5-sized checkpoint (the reference state dict's names and shapes, about 85 M float32 parameters) as a
 * PyTorch zip file against reading the same tensors from safetensors with {@code SafeTensorsFile}: median of alternating
 * rounds (page cache warm for both), their ratio, and the peak heap of each pass. Not a test: run on demand with
 * {@code mvn -q -pl pytorch-checkpoints test-compile exec:java@bench} (optionally {@code -Dbench.rounds=N}).
 */
public final class CheckpointReadBenchmark {
    private CheckpointReadBenchmark() {}

    public static void main(String[] args) throws Exception {
        int rounds = Integer.getInteger("bench.rounds", 7);
        Map<String, long[]> shapes = mitB5Shapes();
        Map<String, float[]> values = new LinkedHashMap<>();
        long seed = 20261207L, params = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            float[] v = new float[(int) n];
            for (int i = 0; i < v.length; i++) {
                seed = seed * 6364136223846793005L + 1442695040888963407L;
                v[i] = (seed >>> 40) / (float) (1 << 24) - 0.5f;
            }
            values.put(e.getKey(), v);
            params += n;
        }
        Path dir = Files.createTempDirectory("retort-ckpt-bench");
        Path pth = dir.resolve("mit-b5.pth"), st = dir.resolve("mit-b5.safetensors");
        try {
            TorchSaveWriter.writeStateDict(pth, values, shapes);
            SafeTensorsWriter w = new SafeTensorsWriter();
            values.forEach((k, v) -> w.add(k, shapes.get(k), v, DType.F32));
            w.write(st);
            values.clear();
            System.gc();
            System.out.printf("MiT-B5-sized state dict: %d tensors, %,d float32 parameters; %s %,d bytes, %s %,d bytes%n", shapes.size(), params,
                    pth.getFileName(), Files.size(pth), st.getFileName(), Files.size(st));
            checkSame(pth, st);
            read(pth);  // warm the page cache and the JIT for both
            read(st);
            List<Double> torch = new ArrayList<>(), safe = new ArrayList<>();
            long torchHeap = 0, safeHeap = 0;
            for (int r = 0; r < rounds; r++) {
                Pass a = read(pth), b = read(st);
                torch.add(a.seconds);
                safe.add(b.seconds);
                torchHeap = Math.max(torchHeap, a.peakHeap);
                safeHeap = Math.max(safeHeap, b.peakHeap);
            }
            double t = median(torch), s = median(safe);
            System.out.printf("read and keep every tensor (open + readFloats), median of %d alternating rounds; heap sampled every ms, peak above the collected start (uncollected garbage included):%n", rounds);
            System.out.printf("  PyTorch zip (TorchCheckpoint)  %7.3f s   peak heap %,6d MB%n", t, torchHeap >> 20);
            System.out.printf("  safetensors (SafeTensorsFile)  %7.3f s   peak heap %,6d MB%n", s, safeHeap >> 20);
            System.out.printf("  ratio PyTorch / safetensors    %7.2f   (target: at most 2.00)%n  float32 values kept: %,d MB%n", t / s, params * 4 >> 20);
            long xmx = (params * 4 * 5 / 4 >> 20) + 64;  // the values, G1's rounding of large arrays to whole regions, and room to run
            System.out.printf("the same read in a fresh JVM with -Xmx%dm (values + 25%% + 64 MB), keeping every tensor:%n", xmx);
            System.out.printf("  PyTorch zip: %s%n  safetensors: %s%n", bounded(pth, xmx), bounded(st, xmx));
        } finally {
            Files.deleteIfExists(pth);
            Files.deleteIfExists(st);
            Files.deleteIfExists(dir);
        }
    }

    private record Pass(double seconds, long peakHeap) {}

    /** Child JVM entry: reads and keeps every tensor of the file; exit 0 when it fits the heap. */
    public static final class ReadAll {
        public static void main(String[] args) throws Exception {
            Path file = Path.of(args[0]);
            List<float[]> kept = new ArrayList<>();
            try (TensorSource s = file.toString().endsWith(".pth") ? TorchCheckpoint.open(file) : SafeTensorsFile.open(file)) {
                for (String name : s.tensors().keySet()) kept.add(s.readFloats(name));
            } catch (OutOfMemoryError e) {
                System.exit(3);
            }
            System.out.println(kept.size());
        }
    }

    private static String bounded(Path file, long xmxMb) throws Exception {
        String cp = classPath();
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + xmxMb + "m", "-cp", cp,
                ReadAll.class.getName(), file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        int exit = p.waitFor();
        return exit == 0 ? "read " + out + " tensors" : "FAILED (exit " + exit + (exit == 3 ? ", out of memory" : "") + ")";
    }

    /** The class path of this run (exec:java runs it in a class loader of its own, not on java.class.path). */
    private static String classPath() {
        List<String> parts = new ArrayList<>();
        for (ClassLoader l = CheckpointReadBenchmark.class.getClassLoader(); l != null; l = l.getParent()) {
            if (l instanceof java.net.URLClassLoader u) {
                for (java.net.URL url : u.getURLs()) {
                    try {
                        parts.add(Path.of(url.toURI()).toString());
                    } catch (Exception e) {
                        parts.add(url.getPath());
                    }
                }
            }
        }
        if (parts.isEmpty()) return System.getProperty("java.class.path");
        return String.join(java.io.File.pathSeparator, parts);
    }

    /**
     * Opens and reads every tensor, keeping them all (as a loader does until it assigns them); the heap is sampled from a
     * collected start, so its peak is the values kept, what the reader needed besides, and garbage not yet collected.
     */
    private static Pass read(Path file) throws Exception {
        System.gc();
        var memory = ManagementFactory.getMemoryMXBean();
        long start = memory.getHeapMemoryUsage().getUsed();
        long[] peak = {start};
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak[0] = Math.max(peak[0], memory.getHeapMemoryUsage().getUsed());
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.setDaemon(true);
        sampler.start();
        long t0 = System.nanoTime();
        double sum = 0;
        List<float[]> kept = new ArrayList<>();
        try (TensorSource s = file.toString().endsWith(".pth") ? TorchCheckpoint.open(file) : SafeTensorsFile.open(file)) {
            for (String name : s.tensors().keySet()) {
                float[] v = s.readFloats(name);
                kept.add(v);
                sum += v[v.length / 2];
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        sampler.interrupt();
        sampler.join();
        peak[0] = Math.max(peak[0], memory.getHeapMemoryUsage().getUsed());
        if (Double.isNaN(sum) || kept.isEmpty()) System.out.println("NaN");
        return new Pass(seconds, peak[0] - start);
    }

    private static void checkSame(Path pth, Path st) throws Exception {
        try (TensorSource a = TorchCheckpoint.open(pth); TensorSource b = SafeTensorsFile.open(st)) {
            if (!a.tensors().keySet().equals(b.tensors().keySet())) throw new IllegalStateException("different tensors");
            for (String k : List.of(a.tensors().keySet().iterator().next(), "block3.39.mlp.fc2.weight")) {
                if (!Arrays.equals(a.readFloats(k), b.readFloats(k))) throw new IllegalStateException(k + " differs");
            }
        }
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        return s.get(s.size() / 2);
    }

    /** The reference MiT-B5 + SegFormer head state dict (embed dims 64,128,320,512; depths 3,6,40,3; decoder 768; 19 classes). */
    static Map<String, long[]> mitB5Shapes() {
        int[] dims = {64, 128, 320, 512}, depths = {3, 6, 40, 3}, sr = {8, 4, 2, 1}, patch = {7, 3, 3, 3};
        int decoder = 768, classes = 19;
        Map<String, long[]> m = new LinkedHashMap<>();
        for (int s = 0; s < 4; s++) {
            int c = dims[s], in = s == 0 ? 3 : dims[s - 1], k = patch[s];
            String pe = "patch_embed" + (s + 1) + ".";
            m.put(pe + "proj.weight", new long[] {c, in, k, k});
            m.put(pe + "proj.bias", new long[] {c});
            m.put(pe + "norm.weight", new long[] {c});
            m.put(pe + "norm.bias", new long[] {c});
            for (int b = 0; b < depths[s]; b++) {
                String p = "block" + (s + 1) + "." + b + ".";
                m.put(p + "norm1.weight", new long[] {c});
                m.put(p + "norm1.bias", new long[] {c});
                m.put(p + "attn.q.weight", new long[] {c, c});
                m.put(p + "attn.q.bias", new long[] {c});
                m.put(p + "attn.kv.weight", new long[] {2L * c, c});
                m.put(p + "attn.kv.bias", new long[] {2L * c});
                m.put(p + "attn.proj.weight", new long[] {c, c});
                m.put(p + "attn.proj.bias", new long[] {c});
                if (sr[s] > 1) {
                    m.put(p + "attn.sr.weight", new long[] {c, c, sr[s], sr[s]});
                    m.put(p + "attn.sr.bias", new long[] {c});
                    m.put(p + "attn.norm.weight", new long[] {c});
                    m.put(p + "attn.norm.bias", new long[] {c});
                }
                m.put(p + "norm2.weight", new long[] {c});
                m.put(p + "norm2.bias", new long[] {c});
                m.put(p + "mlp.fc1.weight", new long[] {4L * c, c});
                m.put(p + "mlp.fc1.bias", new long[] {4L * c});
                m.put(p + "mlp.dwconv.dwconv.weight", new long[] {4L * c, 1, 3, 3});
                m.put(p + "mlp.dwconv.dwconv.bias", new long[] {4L * c});
                m.put(p + "mlp.fc2.weight", new long[] {c, 4L * c});
                m.put(p + "mlp.fc2.bias", new long[] {c});
            }
            m.put("norm" + (s + 1) + ".weight", new long[] {c});
            m.put("norm" + (s + 1) + ".bias", new long[] {c});
        }
        for (int s = 0; s < 4; s++) {
            m.put("linear_c" + (s + 1) + ".proj.weight", new long[] {decoder, dims[s]});
            m.put("linear_c" + (s + 1) + ".proj.bias", new long[] {decoder});
        }
        m.put("linear_fuse.conv.weight", new long[] {decoder, 4L * decoder, 1, 1});
        for (String x : List.of("weight", "bias", "running_mean", "running_var")) m.put("linear_fuse.bn." + x, new long[] {decoder});
        m.put("linear_pred.weight", new long[] {classes, decoder, 1, 1});
        m.put("linear_pred.bias", new long[] {classes});
        return m;
    }
}
