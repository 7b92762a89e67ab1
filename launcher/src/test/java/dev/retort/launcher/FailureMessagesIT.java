package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failure paths of the real jar, each with what it must say, and none of them with an exception's class name or a
 * stack trace (those only with {@code -Dretort.debug=true}): bad run files, a damaged checkpoint, a refused run
 * folder, a merge of bad rows, SIGHUP.
 */
class FailureMessagesIT {
    private static final Path JAR = Path.of(System.getProperty("retort.jar"));
    /** What must never reach a user: a class name of an exception or error, a frame of a trace. */
    private static final Pattern LEAK = Pattern.compile("\\b[A-Z][A-Za-z0-9]*(Exception|Error)\\b|\\n\\s+at [a-z]|Caused by:|Cannot coerce");

    private record Outcome(int exit, String output) {}

    private static Outcome run(Path work, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR"), "-Dretort.progress=0", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile(work, "out", ".txt");
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "did not finish: " + Files.readString(log));
        return new Outcome(p.exitValue(), Files.readString(log));
    }

    /** A failure: exit status 1, the expected words, and nothing of Java's insides. */
    private static String failed(Outcome o, String... expected) {
        assertEquals(1, o.exit(), o.output());
        for (String e : expected) assertTrue(o.output().contains(e), "'" + e + "' in:\n" + o.output());
        Matcher leak = LEAK.matcher(o.output().replace("AutoNonVariableTypeMode", ""));  // libtorch's own one-time warning
        assertFalse(leak.find(), "a class name or trace reaches the user (" + (leak.find(0) ? leak.group() : "") + "):\n" + o.output());
        return o.output();
    }

    private static String tiny(String name, String... more) {
        return String.join("\n", "name = " + name, "output = out-" + name, "seed = 3",
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "modules = csf,pea", "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 4", "data.val_size = 2",
                "batch_size = 2", "iterations = 2", "eval_every = 2", "decay_per = iteration", "threads = 1", String.join("\n", more), "");
    }

    @Test
    void badRunFilesAndFoldersAreRefusedInWords(@TempDir Path work) throws Exception {
        failed(run(work, "kd:train", "missing.cfg"), "missing.cfg");
        Files.writeString(work.resolve("twice.cfg"), tiny("twice", "lr = 1e-3", "lr = 5e-1"));
        failed(run(work, "kd:train", "twice.cfg"), "lr is given twice, on line 25 (lr = 1e-3) and on line 26 (lr = 5e-1)");
        Files.writeString(work.resolve("escape.cfg"), tiny("a\\u001b[2Jb"));
        failed(run(work, "kd:train", "escape.cfg"), "name holds the character U+001B at position 2");
        Files.writeString(work.resolve("lr.cfg"), tiny("lr", "lr = 1e308"));
        failed(run(work, "kd:train", "lr.cfg"), "lr must be at most 1.0");
        Files.writeString(work.resolve("batch.cfg"), tiny("batch").replace("batch_size = 2", "batch_size = 1000000000"));
        failed(run(work, "kd:train", "batch.cfg"), "batch_size 1000000000 is larger than the training split (4 samples");
        // a folder holding someone's files: refused, and nothing of the refused run is left in it
        Path full = Files.createDirectories(work.resolve("full"));
        Files.writeString(full.resolve("metrics.jsonl"), "{\"type\":\"STEP\",\"step\":0}\n");
        Files.writeString(full.resolve("notes.txt"), "mine");
        Files.writeString(work.resolve("full.cfg"), tiny("full"));
        failed(run(work, "kd:train", "--set", "output=" + full, "full.cfg"), "is not empty");
        try (var files = Files.list(full)) {
            assertEquals(List.of("metrics.jsonl", "notes.txt"), files.map(p -> p.getFileName().toString()).sorted().toList(), "no lock file left");
        }
        // an option given twice: the command's usage, not Gogo's signature list
        String twice = failed(run(work, "kd:train", "--set", "iterations=3", "--set", "seed=4", "full.cfg"), "usage");
        assertTrue(twice.contains("--set") && twice.contains("--resume") && twice.contains("--overwrite"), "the usage lists the options: " + twice);
        // a checkpoint that is not one
        byte[] header = "{\"w\": not json}".getBytes(StandardCharsets.UTF_8);
        Files.write(work.resolve("garbage.safetensors"), ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).array());
        failed(run(work, "kd:train", "--resume", "garbage.safetensors", "full.cfg"), "garbage.safetensors", "header is not valid JSON");
    }

    @Test
    void aDamagedCheckpointIsRefusedAndTheRunsHistoryKept(@TempDir Path work) throws Exception {
        Files.writeString(work.resolve("ok.cfg"), tiny("ok"));
        Outcome first = run(work, "kd:train", "ok.cfg");
        assertEquals(0, first.exit(), first.output());
        Path out = work.resolve("out-ok"), last = out.resolve("last.safetensors");
        byte[] metrics = Files.readAllBytes(out.resolve("metrics.jsonl")), log = Files.readAllBytes(out.resolve("train.log"));
        flipFirstByteOf(last, "student.linear_pred.weight");
        String said = failed(run(work, "kd:train", "--resume", last.toString(), "--set", "iterations=4", "ok.cfg"),
                last.toString(), "student.linear_pred.weight", "fails its CRC32C checksum");
        assertTrue(said.contains("the file is corrupt"), said);
        assertArrayEquals(metrics, Files.readAllBytes(out.resolve("metrics.jsonl")), "metrics.jsonl as it was");
        assertArrayEquals(log, Files.readAllBytes(out.resolve("train.log")), "train.log as it was");
    }

    @Test
    void aMergeOfABadRowWritesNothing(@TempDir Path work) throws Exception {
        Files.writeString(work.resolve("grid.ablation"), tiny("grid") + "arm.1.name = a\narm.1.modules = none\narm.2.name = b\narm.2.modules = csf\n");
        Path rows = Files.createDirectories(work.resolve("grid/rows"));
        String row = "{\"arm\":%d,\"name\":\"%s\",\"modules\":\"csf\",\"configuration\":\"\",\"miou\":%s,\"params\":1000,\"gflops\":0.5,\"extra_params\":10,"
                + "\"ms_per_step\":12.5,\"wall_s\":3.0,\"steps\":3,\"iou\":{\"road\":0.5},\"losses\":[1,0.9,0.8],\"ce_losses\":[1,0.9,0.8]}\n";
        Files.writeString(rows.resolve("arm-001.json"), String.format(row, 1, "a", "0.25"));
        Files.writeString(rows.resolve("arm-002.json"), String.format(row, 2, "b", "1e308"));
        failed(run(work, "kd:ablate", "--merge", "--out", "grid", "grid.ablation"), "merge refused, nothing was written", "miou is 1e308");
        assertFalse(Files.exists(work.resolve("grid/results.md")));
    }

    @Test
    void sighupStopsTheRunWithACheckpointAndSaysWhy(@TempDir Path work) throws Exception {
        Files.writeString(work.resolve("long.cfg"), tiny("long").replace("iterations = 2", "iterations = 100000").replace("eval_every = 2", "eval_every = 1000000")
                + "log_every = 1\n");
        Path log = work.resolve("hup.txt");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR"), "-Dretort.progress=0", "-jar", JAR.toString(), "kd:train", "long.cfg")
                .directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path metrics = work.resolve("out-long/metrics.jsonl");
        while (p.isAlive() && !(Files.exists(metrics) && Files.readString(metrics).contains("\"type\":\"STEP\",\"step\":1,"))) Thread.sleep(100);
        assertTrue(p.isAlive(), Files.readString(log));
        assertEquals(0, new ProcessBuilder("kill", "-HUP", String.valueOf(p.pid())).start().waitFor());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), Files.readString(log));
        String said = Files.readString(log);
        assertEquals(129, p.exitValue(), said);
        assertTrue(said.contains("retort: SIGHUP (the terminal or session closed): stopping the run at its next step boundary"), said);
        assertTrue(Files.exists(work.resolve("out-long/last.safetensors")), "checkpointed");
    }

    /** Flips the lowest bit of a tensor's first byte, found from the file's header. */
    private static void flipFirstByteOf(Path file, String tensor) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\"" + Pattern.quote(tensor) + "\":\\{[^}]*\"data_offsets\":\\[(\\d+),").matcher(header);
        assertTrue(m.find(), header);
        bytes[(int) (8 + n + Long.parseLong(m.group(1)))] ^= 0x01;
        Files.write(file, bytes);
    }
}
