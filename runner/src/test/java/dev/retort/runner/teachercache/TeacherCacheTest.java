package dev.retort.runner.teachercache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.backbones.mit.MitBackbone;
import dev.retort.runner.train.RunSettings;
import dev.retort.runner.train.TamperedFiles;
import dev.retort.runner.train.TestServices;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real training steps with the teacher-output cache off, in memory and on disk. */
class TeacherCacheTest {
    @TempDir
    Path dir;

    private static final Set<String> CSF_PEA = Set.of("features.1", "features.2", "features.3", "features.4", "embeds.1", "embeds.2", "embeds.3", "embeds.4");

    @BeforeEach
    void cold() {
        MemoryStore.clearAll();
    }

    private static CacheRuns.Done ok(CacheRuns.Done d) {
        assertNull(d.failure(), () -> d.log());
        assertEquals(8, d.losses().size(), d.log());
        assertTrue(d.losses().stream().allMatch(Double::isFinite), d.losses().toString());
        return d;
    }

    /** The end-of-run counts: batches read, computed, stored. */
    private static long[] counts(String log) {
        Matcher m = Pattern.compile("teacher cache: (\\d+) batch\\(es\\) read, (\\d+) computed, (\\d+) stored").matcher(log);
        assertTrue(m.find(), log);
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))};
    }

    private static List<Path> shards(Path cache) throws IOException {
        try (Stream<Path> files = Files.walk(cache)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    @Test
    void theMemoryCacheGivesTheUncachedLossesBitForBitOverTwoEpochs() {
        CacheRuns.Done off = ok(CacheRuns.train(CacheRuns.run(dir.resolve("off"), "csf,pea", "off")));
        assertTrue(!off.log().contains("teacher cache"), off.log());
        CacheRuns.Done cold = ok(CacheRuns.train(CacheRuns.run(dir.resolve("cold"), "csf,pea", "memory")));
        assertEquals(List.of(0L, 8L, 8L), Arrays.stream(counts(cold.log())).boxed().toList(), cold.log());
        CacheRuns.Done warm = ok(CacheRuns.train(CacheRuns.run(dir.resolve("warm"), "csf,pea", "memory")));
        assertEquals(List.of(8L, 0L, 0L), Arrays.stream(counts(warm.log())).boxed().toList(), warm.log());
        assertEquals(off.losses(), cold.losses());
        assertEquals(off.losses(), warm.losses());
        assertEquals(off.ce(), warm.ce());
    }

    @Test
    void theDiskCacheGivesTheSameLossesReadOrComputedAndAddsTheTapsAnArmLacks() throws IOException {
        Path cache = dir.resolve("cache");
        // an arm whose modules read the embeddings only stores those
        Map<String, Object> pea = CacheRuns.run(dir.resolve("pea"), "pea", "disk");
        pea.put("teacher.cache_dir", cache.toString());
        CacheRuns.Done peaOnly = ok(CacheRuns.train(pea));
        assertEquals(List.of(0L, 8L, 8L), Arrays.stream(counts(peaOnly.log())).boxed().toList());
        List<Path> files = shards(cache);
        assertEquals(8, files.size(), files.toString());
        try (SafeTensorsFile f = SafeTensorsFile.open(files.get(0))) {
            assertEquals(Set.of("embeds.1", "embeds.2", "embeds.3", "embeds.4"), f.tensors().keySet());
            assertEquals(DType.BF16, f.info("embeds.1").dtype());
            assertEquals(List.of(2L, 128L, 16L), Arrays.stream(f.info("embeds.1").shape()).boxed().toList());  // 8×16 tokens of 16 channels
        }
        // an arm that also needs the stage maps computes every batch and adds them
        Map<String, Object> both = CacheRuns.run(dir.resolve("both"), "csf,pea", "disk");
        both.put("teacher.cache_dir", cache.toString());
        CacheRuns.Done computed = ok(CacheRuns.train(both));
        assertEquals(List.of(0L, 8L, 8L), Arrays.stream(counts(computed.log())).boxed().toList(), computed.log());
        for (Path f : shards(cache)) {
            try (SafeTensorsFile s = SafeTensorsFile.open(f)) {
                assertEquals(CSF_PEA, s.tensors().keySet(), f.toString());
            }
        }
        // the same arm again reads every batch, and its losses are the computing run's, bit for bit
        both.put("output", dir.resolve("both-again").toString());
        CacheRuns.Done read = ok(CacheRuns.train(both));
        assertEquals(List.of(8L, 0L, 0L), Arrays.stream(counts(read.log())).boxed().toList(), read.log());
        assertEquals(computed.losses(), read.losses());
        assertEquals(computed.ce(), read.ce());
        // ... while an arm that needs the stage maps only reads them too
        Map<String, Object> csf = CacheRuns.run(dir.resolve("csf"), "csf", "disk");
        csf.put("teacher.cache_dir", cache.toString());
        assertEquals(List.of(8L, 0L, 0L), Arrays.stream(counts(ok(CacheRuns.train(csf)).log())).boxed().toList());
        // bf16 taps are a precision choice: the losses differ from float32 taps, a little
        CacheRuns.Done off = ok(CacheRuns.train(CacheRuns.run(dir.resolve("off"), "csf,pea", "off")));
        assertNotEquals(off.losses(), read.losses());
        double worst = 0;
        for (int i = 0; i < 8; i++) worst = Math.max(worst, Math.abs(off.losses().get(i) - read.losses().get(i)) / Math.abs(off.losses().get(i)));
        System.out.printf("teacher cache: largest relative loss difference, bf16 taps vs float32 taps, 8 steps: %.3g%n", worst);
        assertTrue(worst < 1e-2, "bf16 taps moved a loss by " + worst);
    }

    @Test
    void aFullCacheSaysSoOnceAndTheRunGoesOnWithTheSameLosses() throws IOException {
        Map<String, Object> unlimited = CacheRuns.run(dir.resolve("unlimited"), "csf,pea", "disk");
        unlimited.put("teacher.cache_dir", dir.resolve("big").toString());
        CacheRuns.Done reference = ok(CacheRuns.train(unlimited));
        long shard = Files.size(shards(dir.resolve("big")).get(0));
        long limit = 3 * shard + shard / 2;  // room for three shards
        Map<String, Object> run = CacheRuns.run(dir.resolve("limited"), "csf,pea", "disk");
        run.put("teacher.cache_dir", dir.resolve("small").toString());
        run.put("teacher.cache_limit", String.valueOf(limit));
        CacheRuns.Done limited = ok(CacheRuns.train(run));
        assertEquals(1, limited.log().split("the limit is reached", -1).length - 1, limited.log());
        assertEquals(List.of(0L, 8L, 3L), Arrays.stream(counts(limited.log())).boxed().toList(), limited.log());
        assertEquals(reference.losses(), limited.losses());
        List<Path> kept = shards(dir.resolve("small"));
        assertEquals(3, kept.size());
        assertTrue(kept.stream().mapToLong(p -> p.toFile().length()).sum() <= limit);
        // again: three batches read, five computed, nothing more stored, the same losses
        run.put("output", dir.resolve("limited-again").toString());
        CacheRuns.Done again = ok(CacheRuns.train(run));
        assertEquals(List.of(3L, 5L, 0L), Arrays.stream(counts(again.log())).boxed().toList(), again.log());
        assertEquals(reference.losses(), again.losses());
    }

    @Test
    void damagedShardsAreDroppedAndComputedAgainSayingSoAndOlderShardsStillRead() throws IOException {
        Path cache = dir.resolve("cache");
        Map<String, Object> run = CacheRuns.run(dir.resolve("first"), "csf,pea", "disk");
        run.put("teacher.cache_dir", cache.toString());
        CacheRuns.Done first = ok(CacheRuns.train(run));
        List<Path> files = shards(cache);
        assertEquals(8, files.size());
        // a finite flip (only the checksum tells), a shard holding NaN (its checksum fits: written so), one of before checksums
        TamperedFiles.flipByte(files.get(0), "features.1");
        Path nan = files.get(1);
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(nan)) {
            f.metadata().forEach(w::metadata);
            for (String t : f.tensors().keySet()) {
                float[] v = f.readFloats(t);
                v[0] = Float.NaN;
                w.add(t, f.info(t).shape(), v, DType.BF16);
            }
        }
        w.write(nan);
        TamperedFiles.withoutChecksums(files.get(2));

        run.put("output", dir.resolve("second").toString());
        CacheRuns.Done second = ok(CacheRuns.train(run));
        String log = second.log();
        assertEquals(first.losses(), second.losses(), "the damaged entries were computed again, not used");
        assertEquals(List.of(6L, 2L, 2L), Arrays.stream(counts(log)).boxed().toList(), log);
        String where = "WARNING teacher cache " + cache.resolve(files.get(0).getParent().getFileName()) + ": ";
        assertTrue(log.contains(where + files.get(0) + ": tensor 'features.1' fails its CRC32C checksum") && log.contains("the entry was dropped and batch e00001-b000000 is computed again"), log);
        assertTrue(log.contains(where + nan + ": tap ") && log.contains("holds NaN or infinite values; the entry was dropped and batch e00001-b000001 is computed again"), log);
        assertTrue(log.contains("2 damaged entries (checksum mismatch or NaN/infinite values) dropped and computed again"), log);
        assertTrue(log.contains("its entries carry no checksums (written before Retort checksummed its files)"), log);
        assertTrue(!log.contains("Exception"), log);
        // stored again whole: a third run reads all eight
        run.put("output", dir.resolve("third").toString());
        CacheRuns.Done third = ok(CacheRuns.train(run));
        assertEquals(List.of(8L, 0L, 0L), Arrays.stream(counts(third.log())).boxed().toList(), third.log());
        assertEquals(first.losses(), third.losses());
    }

    @Test
    void aChangedTeacherWeightIsAnotherKeyAndNothingStaleIsRead() throws IOException {
        Path w1 = dir.resolve("w1.safetensors"), w2 = dir.resolve("w2.safetensors");
        Map<String, Object> arch = Map.of("embed_dims", "16,32,48,64", "depths", "1,1,1,1", "num_heads", "1,2,3,4", "decoder_dim", "32");
        try (NDManager m = new TestServices().engine().newBaseManager();
             SegmentationNetwork teacher = new MitBackbone().build("mit-b2", arch, m, 11)) {
            SafeTensorsWriter a = new SafeTensorsWriter(), b = new SafeTensorsWriter();
            String changed = new TreeSet<>(teacher.parameters().keySet()).first();
            teacher.parameters().forEach((k, p) -> {
                float[] v = p.getArray().toFloatArray();
                a.add(k, p.getArray().getShape().getShape(), v, DType.F32);
                if (k.equals(changed)) v[0] += 1e-3f;  // one value of one tensor
                b.add(k, p.getArray().getShape().getShape(), v, DType.F32);
            });
            a.write(w1);
            b.write(w2);
        }
        Path cache = dir.resolve("cache");
        List<String> keys = new ArrayList<>();
        for (Path w : List.of(w1, w2, w1)) {
            Map<String, Object> run = CacheRuns.run(dir.resolve("run-" + keys.size()), "csf,pea", "disk");
            run.put("teacher.cache_dir", cache.toString());
            run.put("teacher.weights", w.toString());
            CacheRuns.Done d = ok(CacheRuns.train(run));
            Matcher m = Pattern.compile("teacher cache: disk, key (\\w+)").matcher(d.log());
            assertTrue(m.find(), d.log());
            keys.add(m.group(1));
            assertEquals(keys.size() == 3 ? List.of(8L, 0L, 0L) : List.of(0L, 8L, 8L), Arrays.stream(counts(d.log())).boxed().toList(), d.log());
        }
        assertNotEquals(keys.get(0), keys.get(1));
        assertEquals(keys.get(0), keys.get(2));
        assertTrue(Files.readString(cache.resolve(keys.get(1)).resolve("key.txt")).contains("weights sha256 "));
    }

    @Test
    void twoProcessesWritingOneFolderLeaveAWholeReadableCache() throws Exception {
        Path cache = dir.resolve("shared");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> processes = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true",
                    "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR", Path.of("target", "djl-cache").toAbsolutePath().toString()),
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", CacheRuns.class.getName(), dir.resolve("p" + i).toString(), cache.toString());
            pb.redirectErrorStream(true);
            pb.redirectOutput(dir.resolve("p" + i + ".out").toFile());
            processes.add(pb.start());
        }
        List<String> losses = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            assertTrue(processes.get(i).waitFor(10, TimeUnit.MINUTES), "process " + i + " did not end");
            String out = Files.readString(dir.resolve("p" + i + ".out"), StandardCharsets.UTF_8);
            assertEquals(0, processes.get(i).exitValue(), out);
            Matcher m = Pattern.compile("LOSSES (.*)").matcher(out);
            assertTrue(m.find(), out);
            losses.add(m.group(1));
            long[] c = counts(out);
            assertEquals(8, c[0] + c[1], out);
        }
        assertEquals(losses.get(0), losses.get(1));
        // every shard whole and readable, none left half-written
        List<Path> files = shards(cache);
        assertEquals(8, files.size(), files.toString());
        for (Path f : files) {
            try (SafeTensorsFile s = SafeTensorsFile.open(f)) {
                assertEquals(CSF_PEA, s.tensors().keySet());
                for (String t : CSF_PEA) assertEquals(Arrays.stream(s.info(t).shape()).reduce(1, (x, y) -> x * y), s.readFloats(t).length);
                assertEquals(2, s.metadata().get(DiskStore.IDS).split("\n").length);
            }
        }
        try (Stream<Path> all = Files.walk(cache)) {
            assertEquals(List.of(), all.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList());
        }
        // a third run reads all of it and trains exactly as the writers did
        Map<String, Object> run = CacheRuns.run(dir.resolve("reader"), "csf,pea", "disk");
        run.put("teacher.cache_dir", cache.toString());
        CacheRuns.Done reader = ok(CacheRuns.train(run));
        assertEquals(List.of(8L, 0L, 0L), Arrays.stream(counts(reader.log())).boxed().toList(), reader.log());
        assertEquals(losses.get(0), reader.losses().toString());
    }

    @Test
    void badKeysAreRefusedWithTheirNameAndValue() {
        Map<String, Object> run = CacheRuns.run(dir, "csf,pea", "disc");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunSettings.of(run));
        assertEquals("run: teacher.cache must be off, memory or disk, got 'disc'", e.getMessage());
        run.put("teacher.cache", "disk");
        run.put("teacher.cache_limit", "4 gallons");
        e = assertThrows(IllegalArgumentException.class, () -> RunSettings.of(run));
        assertEquals("run: teacher.cache_limit must be a size > 0 such as 500m, 4g or 1073741824 (bytes), got '4 gallons'", e.getMessage());
        run.put("teacher.cache_limit", "0");
        assertThrows(IllegalArgumentException.class, () -> RunSettings.of(run));
        assertEquals(1536L << 20, CacheSettings.size("1.5g"));
        assertEquals(500L << 20, CacheSettings.size("500MiB"));
        assertEquals(12345, CacheSettings.size("12345"));
        // the cache's keys are the runner's: the teacher's backbone never sees them
        run.put("teacher.cache_limit", "1g");
        assertEquals(Set.of("embed_dims", "depths", "num_heads", "decoder_dim"), RunSettings.of(run).run().teacher().config().keySet());
        CacheSettings s = CacheSettings.of(RunSettings.of(run).source(), dir);
        assertEquals(dir.resolve("teacher-cache"), s.folder());
        assertEquals(1L << 30, s.limit());
    }
}
