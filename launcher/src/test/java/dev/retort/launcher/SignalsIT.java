package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a cluster does to a run, with real {@code java -jar retort.jar} processes: SIGTERM at a time limit, a second
 * process on the same run folder, a new run pointed at an old folder.
 */
class SignalsIT {
    private static final Path JAR = Path.of(System.getProperty("retort.jar"));
    private static final Pattern STEP = Pattern.compile("\"type\":\"STEP\",\"step\":(\\d+),");

    /** A run that would take far longer than any test: it only ends when it is stopped. */
    private static Path tinyRun(Path work) throws IOException {
        Files.writeString(work.resolve("tiny.cfg"), String.join("\n", "name = tiny", "output = out", "seed = 3",
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "modules = csf,pea", "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 16", "data.val_size = 4",
                "batch_size = 2", "iterations = 100000", "eval_every = 1000000", "eval_batches = 1", "decay_per = iteration", "log_every = 1",
                "threads = 1", ""));
        return work.resolve("out");
    }

    /** Starts retort with its own temporary directory, so that its private folders can be checked. */
    private static Process start(Path work, String log, String... args) throws IOException {
        Files.createDirectories(work.resolve("tmp"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR"), "-Djava.io.tmpdir=" + work.resolve("tmp"), "-Dretort.progress=0",
                "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true).redirectOutput(work.resolve(log).toFile()).start();
    }

    private static int finish(Process p, Path work, String log) throws Exception {
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "did not finish: " + Files.readString(work.resolve(log)));
        return p.exitValue();
    }

    private static List<Long> steps(Path metrics) throws IOException {
        List<Long> steps = new ArrayList<>();
        if (!Files.exists(metrics)) return steps;
        Matcher m = STEP.matcher(Files.readString(metrics));
        while (m.find()) steps.add(Long.parseLong(m.group(1)));
        return steps;
    }

    private static void awaitStep(Process p, Path out, long step, Path log) throws Exception {
        while (p.isAlive() && !steps(out.resolve("metrics.jsonl")).contains(step)) Thread.sleep(100);
        assertTrue(p.isAlive(), "the run ended before step " + step + ": " + Files.readString(log));
    }

    /** The step a checkpoint was taken at, from its safetensors header. */
    private static long checkpointStep(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\"retort.step\":\"(\\d+)\"").matcher(header);
        assertTrue(m.find(), header);
        return Long.parseLong(m.group(1));
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void sigtermStopsAtAStepBoundaryWithACheckpointAndTheRunResumes(@TempDir Path work) throws Exception {
        Path out = tinyRun(work);
        Process p = start(work, "run.txt", "kd:train", "tiny.cfg");
        awaitStep(p, out, 2, work.resolve("run.txt"));
        p.destroy();  // SIGTERM on Linux
        int exit = finish(p, work, "run.txt");
        String log = Files.readString(work.resolve("run.txt"));
        assertEquals(143, exit, log);
        assertTrue(log.contains("SIGTERM: stopping the run at its next step boundary"), log);
        assertTrue(log.contains("progress: step 1/100000"), "a progress line without a terminal: " + log);

        List<Long> done = steps(out.resolve("metrics.jsonl"));
        long reached = done.get(done.size() - 1) + 1;
        assertEquals(reached, checkpointStep(out.resolve("last.safetensors")), "the checkpoint holds every step logged");
        assertEquals(List.of(".retort.lock", "last.safetensors", "metrics.jsonl", "run.cfg", "train.log"), names(out), "no temporary files");
        assertEquals(List.of(), names(work.resolve("tmp")), "the private temporary folder is gone");
        assertTrue(names(work).stream().noneMatch(n -> n.startsWith("hs_err")), names(work).toString());
        assertTrue(Files.readString(out.resolve("train.log")).contains("step 1/100000 (epoch 1): ce "), "a loss line per log_every steps");
        Set<PosixFilePermission> logMode = Files.getPosixFilePermissions(out.resolve("train.log"));
        assertEquals(logMode, Files.getPosixFilePermissions(out.resolve("last.safetensors")), "checkpoints get the mode of the logs");

        long until = reached + 2;
        Process resumed = start(work, "resume.txt", "kd:train", "--resume", "out/last.safetensors", "--set", "iterations=" + until, "tiny.cfg");
        assertEquals(0, finish(resumed, work, "resume.txt"), Files.readString(work.resolve("resume.txt")));
        List<Long> all = steps(out.resolve("metrics.jsonl"));
        assertEquals(Stream.iterate(0L, s -> s + 1).limit(until).toList(), all, "every step logged once, in order");
        assertEquals(until, checkpointStep(out.resolve("last.safetensors")));
    }

    @Test
    void aRunFolderTakesOneRunAtATimeAndIsNotReusedSilently(@TempDir Path work) throws Exception {
        Path out = tinyRun(work);
        Process first = start(work, "first.txt", "kd:train", "tiny.cfg");
        try {
            awaitStep(first, out, 1, work.resolve("first.txt"));
            Process second = start(work, "second.txt", "kd:train", "--overwrite", "tiny.cfg");
            int exit = finish(second, work, "second.txt");
            String err = Files.readString(work.resolve("second.txt"));
            assertEquals(1, exit, err);
            assertTrue(err.contains("is in use by another run (process " + first.pid() + ")"), err);
            assertTrue(first.isAlive(), "the first run goes on");
            long before = steps(out.resolve("metrics.jsonl")).size();
            awaitStep(first, out, before + 1, work.resolve("first.txt"));
            assertEquals(Stream.iterate(0L, s -> s + 1).limit(steps(out.resolve("metrics.jsonl")).size()).toList(), steps(out.resolve("metrics.jsonl")),
                    "the first run's record is intact");
        } finally {
            first.destroy();
            finish(first, work, "first.txt");
        }
        Process again = start(work, "again.txt", "kd:train", "tiny.cfg");
        String refused = Files.readString(work.resolve("again.txt"));
        assertEquals(1, finish(again, work, "again.txt"), refused);
        refused = Files.readString(work.resolve("again.txt"));
        assertTrue(refused.contains("is not empty") && refused.contains("--resume") && refused.contains("--overwrite"), refused);
        assertTrue(Files.exists(out.resolve("last.safetensors")), "nothing of the earlier run was touched");
        long kept = checkpointStep(out.resolve("last.safetensors"));
        assertTrue(kept > 0);

        // --overwrite starts again: the earlier run's files are replaced, not mixed with the new ones
        Process over = start(work, "over.txt", "kd:train", "--overwrite", "--set", "iterations=2", "tiny.cfg");
        assertEquals(0, finish(over, work, "over.txt"), Files.readString(work.resolve("over.txt")));
        assertEquals(List.of(0L, 1L), steps(out.resolve("metrics.jsonl")));
        assertEquals(2, checkpointStep(out.resolve("last.safetensors")));
        assertFalse(Files.readString(out.resolve("train.log")).contains("step " + (kept - 1) + "/100000"), "the old log is gone");
    }

    @Test
    void aKilledRunsLeftoversAreCleanedAndItsLockDoesNotBlock(@TempDir Path work) throws Exception {
        Path out = tinyRun(work);
        Process killed = start(work, "killed.txt", "kd:train", "tiny.cfg");
        awaitStep(killed, out, 1, work.resolve("killed.txt"));
        killed.destroyForcibly().waitFor();  // SIGKILL: no handler runs
        Files.write(out.resolve(".last.safetensors123456.tmp"), new byte[1000]);  // what a kill during a checkpoint write leaves
        List<String> stale = names(work.resolve("tmp")).stream().filter(n -> n.startsWith("retort-felix-" + killed.pid() + "-")).toList();
        assertEquals(1, stale.size(), "the killed process left its private folder: " + names(work.resolve("tmp")));
        Path live = Files.createDirectories(work.resolve("tmp").resolve("retort-felix-" + ProcessHandle.current().pid() + "-7"));

        Process next = start(work, "next.txt", "kd:train", "--overwrite", "--set", "iterations=1", "tiny.cfg");
        String log = Files.readString(work.resolve("next.txt"));
        assertEquals(0, finish(next, work, "next.txt"), log);
        log = Files.readString(work.resolve("next.txt"));
        assertTrue(log.contains("removed .last.safetensors123456.tmp"), log);
        assertFalse(Files.exists(out.resolve(".last.safetensors123456.tmp")));
        assertFalse(Files.exists(work.resolve("tmp").resolve(stale.get(0))), "the dead process's folder is removed");
        assertTrue(Files.isDirectory(live), "a live process's folder is kept");
        assertEquals(List.of(live.getFileName().toString()), names(work.resolve("tmp")).stream()
                .filter(n -> n.startsWith("retort-felix-")).collect(Collectors.toList()));
    }
}
