package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunStatus;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.maskd.MaskdDistiller;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A module with a preparation phase (MasKD's token learning) in real tiny runs: prepared first, once, and then frozen. */
class PreparationTest {
    @TempDir
    Path dir;

    private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());
    private static final String TOKENS = "modules.maskd.mask_token";

    private Map<String, Object> run(Path out, String iterations) {
        Map<String, Object> run = TestServices.tinyRun(out);
        run.put("modules", "maskd");
        run.put("module.maskd.prepare_steps", "5");
        run.put("module.maskd.prepare_lr", "0.05");
        run.put("iterations", iterations);
        run.put("eval_every", "100");
        return run;
    }

    private static int index(List<RunEvent> events, RunEvent.Type type) {
        for (int i = 0; i < events.size(); i++) if (events.get(i).type() == type) return i;
        return -1;
    }

    private static float[] read(Path checkpoint, String key) throws Exception {
        try (SafeTensorsFile f = SafeTensorsFile.open(checkpoint)) {
            return f.readFloats(key);
        }
    }

    /** MasKD, remembering the tokens of the last module it built as they were initialised. */
    static final class Capturing implements Distiller {
        final MaskdDistiller inner = new MaskdDistiller();
        volatile float[] initial;

        public String name() {
            return inner.name();
        }

        public String description() {
            return inner.description();
        }

        public void validate(Map<String, ?> configuration) {
            inner.validate(configuration);
        }

        public DistillationModule build(DistillContext c) {
            DistillationModule m = inner.build(c);
            initial = m.parameters().get("mask_token").getArray().toFloatArray();
            return m;
        }
    }

    @Test
    void aRunWithMaskdPreparesItsTokensFirstThenDistilsWithThemFrozen() throws Exception {
        Capturing maskd = new Capturing();
        TestServices s = new TestServices(maskd);
        Map<String, Object> settings = run(dir, "4");
        settings.put("checkpoint_every", "1");
        Trainer t = new Trainer("t", RunSettings.of(settings), s, null, QUIET);
        List<RunStatus> during = new CopyOnWriteArrayList<>();
        List<float[]> tokens = new CopyOnWriteArrayList<>();
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.PREPARING || e.type() == RunEvent.Type.PREPARED) during.add(t.status());
            if (e.type() == RunEvent.Type.CHECKPOINT && e.step() == 1) {
                try {
                    tokens.add(read(dir.resolve("last.safetensors"), TOKENS));
                } catch (Exception x) {
                    throw new AssertionError(x);
                }
            }
        };
        t.run();
        assertNull(t.failure());
        List<RunEvent> events = s.events;
        int preparingAt = index(events, RunEvent.Type.PREPARING), preparedAt = index(events, RunEvent.Type.PREPARED);
        int firstStep = index(events, RunEvent.Type.STEP);
        assertTrue(preparingAt >= 0 && preparingAt < preparedAt && preparedAt < firstStep, events.toString());
        assertEquals(1, events.stream().filter(e -> e.type() == RunEvent.Type.PREPARED).count(), "prepared once");
        RunEvent prepared = events.get(preparedAt);
        assertEquals("maskd", prepared.message());
        assertEquals(5.0, prepared.metrics().get("steps"));
        assertEquals(0.0, prepared.metrics().get("cached"));
        assertTrue(Double.isFinite(prepared.metrics().get("loss")));
        // the status showed the module preparing, step by step
        assertEquals(List.of(new RunStatus.Preparing("maskd", 0, 5, Double.NaN)), during.get(0).preparing());
        RunStatus.Preparing done = during.get(1).preparing().get(0);
        assertEquals(5, done.step());
        assertEquals(prepared.metrics().get("loss"), done.loss(), 1e-12);
        String log = Files.readString(dir.resolve("train.log"));
        assertTrue(log.contains("preparing maskd before it distils: 5 steps on the frozen teacher, AdamW lr 0.05"), log);
        for (int step = 1; step <= 5; step++) assertTrue(log.contains("preparing maskd: step " + step + "/5 loss "), "step " + step + " in " + log);
        assertFalse(log.contains("preparing maskd: step 6/"), log);
        assertTrue(log.contains("prepared maskd in "), log);
        // every distillation step has the MasKD term, and the tokens no longer move
        assertEquals(4, events.stream().filter(e -> e.type() == RunEvent.Type.STEP && e.metrics().containsKey("maskd.logits")).count());
        assertEquals(1, tokens.size());
        Path last = dir.resolve("last.safetensors");
        assertArrayEquals(tokens.get(0), read(last, TOKENS), "the tokens are frozen during distillation (step 1 vs step 4)");
        assertArrayEquals(new float[] {1f}, read(last, "modules.maskd.prepared"));
        try (SafeTensorsFile f = SafeTensorsFile.open(last)) {
            assertFalse(f.contains("optim.m." + TOKENS), "the tokens left the optimiser");
            assertTrue(f.contains("optim.m.student.linear_pred.weight"));
        }
        // the tokens did learn: they are not the module's initialisation any more
        assertEquals(maskd.initial.length, tokens.get(0).length);
        assertFalse(Arrays.equals(maskd.initial, tokens.get(0)), "the preparation changed the tokens");
        // the cache of the run folder holds the result
        try (var files = Files.list(dir.resolve("preparations"))) {
            List<Path> cached = files.toList();
            assertEquals(1, cached.size());
            assertTrue(cached.get(0).getFileName().toString().matches("maskd-[0-9a-f]{20}\\.safetensors"), cached.toString());
            assertArrayEquals(tokens.get(0), read(cached.get(0), "mask_token"));
        }
    }

    @Test
    void aResumedRunDoesNotPrepareAgain() throws Exception {
        Trainer first = new Trainer("t", RunSettings.of(run(dir, "3")), new TestServices(new MaskdDistiller()), null, QUIET);
        first.run();
        assertNull(first.failure());
        float[] tokens = read(dir.resolve("last.safetensors"), TOKENS);
        Files.delete(Files.list(dir.resolve("preparations")).findFirst().orElseThrow());  // no cache to fall back on either
        TestServices s = new TestServices(new MaskdDistiller());
        Trainer resumed = new Trainer("t2", RunSettings.of(run(dir, "5")), s, dir.resolve("last.safetensors"), QUIET);
        resumed.run();
        assertNull(resumed.failure());
        assertTrue(s.events.stream().noneMatch(e -> e.type() == RunEvent.Type.PREPARING || e.type() == RunEvent.Type.PREPARED), s.events.toString());
        assertEquals(2, s.events.stream().filter(e -> e.type() == RunEvent.Type.STEP && e.metrics().containsKey("maskd.logits")).count());
        assertArrayEquals(tokens, read(dir.resolve("last.safetensors"), TOKENS), "restored, frozen");
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("last.safetensors"))) {
            assertFalse(f.contains("optim.m." + TOKENS));
        }
    }

    @Test
    void aModuleJoiningMidRunPreparesAtTheStepBoundaryBeforeItJoins() throws Exception {
        TestServices s = new TestServices(new CsfDistiller());
        Map<String, Object> run = TestServices.tinyRun(dir);  // follows the registry
        run.put("eval_every", "100");
        Trainer t = new Trainer("t", RunSettings.of(run), s, null, QUIET);
        MaskdDistiller maskd = new MaskdDistiller();
        maskd.configure(Map.of("prepareSteps", 3));  // its ConfigAdmin configuration
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP && e.step() == 1) {
                s.add(maskd);
                t.modulesChanged("maskd", "bundle dev.retort.distill-maskd started (test)");
            }
        };
        t.run();
        assertNull(t.failure());
        List<RunEvent> events = s.events;
        int prepared = index(events, RunEvent.Type.PREPARED);
        assertEquals(2, events.get(prepared).step(), "prepared at the boundary before step 3");
        int joined = -1;
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).type() == RunEvent.Type.MODULES_CHANGED && events.get(i).message().contains("maskd joined")) joined = i;
        }
        assertTrue(index(events, RunEvent.Type.PREPARING) < prepared && prepared < joined, events.toString());
        for (RunEvent e : events) {
            if (e.type() != RunEvent.Type.STEP) continue;
            assertEquals(e.step() >= 2, e.metrics().containsKey("maskd.logits"), "step " + e.step() + ": " + e.metrics().keySet());
            assertTrue(e.metrics().containsKey("csf.hcl"));
        }
        assertEquals(List.of("csf", "maskd"), t.status().activeModules());
        assertEquals(List.of(), t.status().preparing());
    }

    @Test
    void anotherRunWithTheSameTeacherDataAndConfigurationReusesThePreparation() throws Exception {
        Path cache = dir.resolve("shared");
        Map<String, Object> a = run(dir.resolve("a"), "1");
        a.put("preparation_cache", cache.toString());
        Trainer first = new Trainer("a", RunSettings.of(a), new TestServices(new MaskdDistiller()), null, QUIET);
        first.run();
        assertNull(first.failure());

        Map<String, Object> b = new HashMap<>(a);
        b.put("output", dir.resolve("b").toString());
        b.put("module.maskd.weight", "1.0");  // the same configuration, written out
        TestServices sb = new TestServices(new MaskdDistiller());
        Trainer second = new Trainer("b", RunSettings.of(b), sb, null, QUIET);
        second.run();
        assertNull(second.failure());
        RunEvent reused = sb.events.stream().filter(e -> e.type() == RunEvent.Type.PREPARED).findFirst().orElseThrow();
        assertEquals(1.0, reused.metrics().get("cached"));
        assertTrue(Files.readString(dir.resolve("b/train.log")).contains("preparation of maskd reused from " + cache), "log");
        assertArrayEquals(read(dir.resolve("a/last.safetensors"), TOKENS), read(dir.resolve("b/last.safetensors"), TOKENS));

        Map<String, Object> c = new HashMap<>(a);
        c.put("output", dir.resolve("c").toString());
        c.put("module.maskd.dice_weight", "0.5");  // another phase: its own preparation
        TestServices sc = new TestServices(new MaskdDistiller());
        new Trainer("c", RunSettings.of(c), sc, null, QUIET).run();
        assertEquals(0.0, sc.events.stream().filter(e -> e.type() == RunEvent.Type.PREPARED).findFirst().orElseThrow().metrics().get("cached"));
        try (var files = Files.list(cache)) {
            assertEquals(2, files.count());
        }
    }

    @Test
    void aDamagedPreparationFileIsRefusedNamingItAndPreparedAgainAnOlderOneLoadsWithANote() throws Exception {
        Path cache = dir.resolve("shared");
        Map<String, Object> a = run(dir.resolve("a"), "1");
        a.put("preparation_cache", cache.toString());
        Trainer first = new Trainer("a", RunSettings.of(a), new TestServices(new MaskdDistiller()), null, QUIET);
        first.run();
        assertNull(first.failure());
        Path file;
        try (var files = Files.list(cache)) {
            file = files.findFirst().orElseThrow();
        }
        String tensor;
        try (var f = dev.retort.safetensors.SafeTensorsFile.open(file)) {
            tensor = f.tensors().keySet().iterator().next();
        }
        TamperedFiles.flipByte(file, tensor);  // finite: only the checksum can tell

        Map<String, Object> b = new HashMap<>(a);
        b.put("output", dir.resolve("b").toString());
        TestServices sb = new TestServices(new MaskdDistiller());
        Trainer second = new Trainer("b", RunSettings.of(b), sb, null, QUIET);
        second.run();
        assertNull(second.failure());
        String log = Files.readString(dir.resolve("b/train.log"));
        assertTrue(log.contains("WARNING preparation cache " + file + " cannot be used (") && log.contains("'" + tensor + "' fails its CRC32C checksum")
                && log.contains("preparing again"), log);
        assertTrue(!log.contains("Exception"), log);
        assertEquals(0.0, sb.events.stream().filter(e -> e.type() == RunEvent.Type.PREPARED).findFirst().orElseThrow().metrics().get("cached"));

        // the file written again is whole; as a file of before checksums it is still used, with a note
        TamperedFiles.withoutChecksums(file);
        Map<String, Object> c = new HashMap<>(a);
        c.put("output", dir.resolve("c").toString());
        TestServices sc = new TestServices(new MaskdDistiller());
        new Trainer("c", RunSettings.of(c), sc, null, QUIET).run();
        assertEquals(1.0, sc.events.stream().filter(e -> e.type() == RunEvent.Type.PREPARED).findFirst().orElseThrow().metrics().get("cached"));
        String logC = Files.readString(dir.resolve("c/train.log"));
        assertTrue(logC.contains("preparation cache " + file + " carries no checksums"), logC);
    }
}
