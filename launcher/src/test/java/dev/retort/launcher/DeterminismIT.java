package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A run is a pure function of its run file (seed included) and the thread count: two JVMs that train the same run
 * file, at the same time, with the same libtorch thread count, write bit-identical losses and evaluation figures to
 * {@code metrics.jsonl}.
 */
class DeterminismIT {
    private static final Path JAR = Path.of(System.getProperty("retort.jar"));
    /** Wall-clock values, the only fields allowed to differ. */
    private static final Set<String> TIMING = Set.of("time", "images_per_s");
    private static final Type RECORD = new TypeToken<TreeMap<String, Object>>() {}.getType();

    /** In float32, and with a bfloat16 teacher and a bf16-mixed student (whose products run through TorchScript). */
    @ParameterizedTest
    @ValueSource(strings = {"", "precision = bf16-mixed\nteacher.precision = bf16\n"})
    void twoProcessesTrainingTheSameRunFileWriteTheSameNumbers(String precision, @TempDir Path work) throws Exception {
        // teacher, student with drop path, CSF + PEA, two loader threads, a final evaluation
        String run = precision + String.join("\n", "name = same", "output = out", "seed = 11",
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 2,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "student.drop_path_rate = 0.2", "modules = csf,pea",
                "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 8", "data.val_size = 4",
                "batch_size = 2", "iterations = 12", "decay_per = iteration", "eval_every = 1000", "eval_batches = 2", "log_every = 1", "threads = 2", "");
        Path a = Files.createDirectories(work.resolve("a")), b = Files.createDirectories(work.resolve("b"));
        Files.writeString(a.resolve("run.cfg"), run);
        Files.writeString(b.resolve("run.cfg"), run);
        Process pa = train(a), pb = train(b);
        try {
            finish(pa, a);
            finish(pb, b);
        } finally {
            pa.destroyForcibly().waitFor();
            pb.destroyForcibly().waitFor();
        }

        if (!precision.isEmpty()) {
            String log = Files.readString(a.resolve("log.txt"));
            assertTrue(log.contains("precision bf16-mixed: the student's linear, convolution and attention products in bfloat16")
                    && log.contains("forward without gradient in bfloat16"), log);
        }
        List<Map<String, Object>> first = numbers(a.resolve("out/metrics.jsonl")), second = numbers(b.resolve("out/metrics.jsonl"));
        assertEquals(12, first.stream().filter(r -> r.get("type").equals("STEP")).count(), "one STEP record per step: " + first);
        assertEquals(1, first.stream().filter(r -> r.get("type").equals("EVALUATION")).count(), "one evaluation: " + first);
        assertTrue(first.stream().filter(r -> r.get("type").equals("STEP")).allMatch(r -> r.containsKey("csf.hcl") && r.containsKey("pea.4")),
                "every step has the module terms: " + first);
        assertEquals(first, second, "the two processes' losses and evaluation");
    }

    private static Process train(Path dir) throws IOException {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR"), "-jar", JAR.toString(), "kd:train", "run.cfg");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("log.txt").toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");  // the same libtorch thread count in both, and no spinning on a loaded machine
        return pb.start();
    }

    private static void finish(Process p, Path dir) throws Exception {
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "training in " + dir + " did not finish");
        assertEquals(0, p.exitValue(), Files.readString(dir.resolve("log.txt")));
    }

    /** STEP, EVALUATION and FINISHED records without their wall-clock fields, in file order. */
    private static List<Map<String, Object>> numbers(Path metrics) throws IOException {
        List<Map<String, Object>> records = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            TreeMap<String, Object> r = new Gson().fromJson(line, RECORD);
            if (!Set.of("STEP", "EVALUATION", "FINISHED").contains(String.valueOf(r.get("type")))) continue;
            r.keySet().removeAll(TIMING);
            records.add(r);
        }
        return records;
    }
}
