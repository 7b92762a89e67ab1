package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.RunState;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code init = FILE}: a fresh run from a checkpoint's weights in TransKD's or Retort's names, without its optimiser state. */
class InitCheckpointTest {
    @TempDir
    Path dir;

    private record Outcome(Trainer trainer, String log) {}

    private static Outcome run(Map<String, Object> run) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Trainer t = new Trainer("t", RunSettings.of(run), new TestServices(new CsfDistiller(), new PeaDistiller()), null,
                new PrintStream(out, true, StandardCharsets.UTF_8));
        t.run();
        return new Outcome(t, out.toString(StandardCharsets.UTF_8));
    }

    private Map<String, Object> tiny(String folder, int steps) {
        Map<String, Object> r = TestServices.tinyRun(dir.resolve(folder));
        r.put("modules", "csf,pea");
        r.put("iterations", String.valueOf(steps));
        r.put("eval_every", String.valueOf(steps));
        return r;
    }

    /** A TransKD-style file from a Retort checkpoint: DataParallel's prefix, bare module keys, PEA and the optimiser left out. */
    private static Path transkdStyle(Path checkpoint, Path out) throws Exception {
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(checkpoint)) {
            for (String k : f.tensors().keySet()) {
                if (k.startsWith("student.")) w.add("module." + k, f.info(k).shape(), f.readFloats(k), DType.F32);
                else if (k.startsWith("modules.csf.")) w.add("module." + k.substring("modules.csf.".length()), f.info(k).shape(), f.readFloats(k), DType.F32);
            }
        }
        w.add("module.skfs.1.fc.1.num_batches_tracked", new long[] {1}, new long[] {3}, DType.I64);
        w.write(out);
        return out;
    }

    @Test
    void aRunStartsFromTheStudentAndModulesOfATransKdCheckpointAndSaysWhatStartsFromItsInitialisation() throws Exception {
        Outcome a = run(tiny("a", 2));
        assertNull(a.trainer().failure());
        Path init = transkdStyle(dir.resolve("a/last.safetensors"), dir.resolve("transkd.safetensors"));
        Map<String, Object> b = tiny("b", 1);
        b.put("init", init.toString());
        b.put("lr", "1e-30");  // a step that changes nothing a float can hold: the weights after it are the ones it started from
        Outcome r = run(b);
        assertNull(r.trainer().failure(), r.log());
        assertEquals(RunState.FINISHED, r.trainer().status().state());
        assertTrue(r.log().contains("init: student: "), r.log());
        assertTrue(r.log().contains("init: no teacher.* tensors in " + init + ": the teacher keeps its weights"), r.log());
        assertTrue(r.log().contains("init: module csf: all 70 tensors from the file"), r.log());
        assertTrue(r.log().contains("init: module pea: none of its 8 tensors in the file; it starts from its initialisation"), r.log());
        assertTrue(r.log().contains("init: 1 BatchNorm num_batches_tracked counters not used"), r.log());
        try (SafeTensorsFile before = SafeTensorsFile.open(dir.resolve("a/last.safetensors"));
             SafeTensorsFile after = SafeTensorsFile.open(dir.resolve("b/last.safetensors"))) {
            for (String k : before.tensors().keySet()) {
                if ((k.startsWith("student.") || k.startsWith("modules.csf.")) && !k.contains("running_")) {  // the step's BatchNorm updates them
                    assertArrayEquals(before.readFloats(k), after.readFloats(k), k);
                }
            }
            assertEquals(1L, after.readLongs("optim.t.student.linear_pred.weight")[0], "AdamW started afresh, not from the file's state");
        }
    }

    @Test
    void aRetortCheckpointWorksTooAndItsOptimiserStateIsNotTaken() throws Exception {
        run(tiny("a", 2));
        Map<String, Object> b = tiny("b", 1);
        b.put("init", dir.resolve("a/last.safetensors").toString());
        Outcome r = run(b);
        assertNull(r.trainer().failure(), r.log());
        assertTrue(r.log().contains("init: module pea: all 8 tensors from the file"), r.log());
        assertTrue(r.log().contains("the file's optimiser state") && r.log().contains("is not used: init starts AdamW afresh"), r.log());
    }

    @Test
    void aStudentThatDoesNotFitFailsTheRunNamingTheTensors() throws Exception {
        Path bad = dir.resolve("bad.safetensors");
        new SafeTensorsWriter().add("student.linear_pred.weight", new long[] {3, 3}, new float[9], DType.F32).write(bad);
        Map<String, Object> b = tiny("b", 1);
        b.put("init", bad.toString());
        Outcome r = run(b);
        assertEquals(RunState.FAILED, r.trainer().status().state());
        String m = r.trainer().failure().getMessage();
        assertTrue(m.contains("does not fit the student"), m);
        assertTrue(m.contains("student.linear_pred.weight: file [3, 3] vs run [20, 16, 1, 1]"), m);
        assertTrue(m.contains("114 of its 115 tensors missing: student.patch_embed1.proj.weight"), m);
    }

    @Test
    void aResumedRunDoesNotApplyItsInitAgain() throws Exception {
        run(tiny("a", 2));
        Map<String, Object> b = tiny("a", 3);
        b.put("init", dir.resolve("missing.safetensors").toString());  // never opened: the checkpoint is later than any init
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Trainer t = new Trainer("t", RunSettings.of(b), new TestServices(new CsfDistiller(), new PeaDistiller()), dir.resolve("a/last.safetensors"),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        t.run();
        assertNull(t.failure(), out.toString(StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("not applied: the run resumes from"));
    }
}
