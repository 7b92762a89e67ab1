package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.retort.api.run.RunState;
import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.backbones.mit.MitBackbone;
import dev.retort.datasets.synthetic.SyntheticCityDataset;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.datasets.BatchLoader;
import dev.retort.runner.eval.Evaluation;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import dev.retort.safetensors.TensorInfo;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints that a run cannot continue from are refused, naming the tensors; older and TransKD namings still load. */
class CheckpointValidationTest {
    @TempDir
    Path dir;

    private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());
    private Map<String, Object> run;

    @BeforeEach
    void firstThreeSteps() {
        run = TestServices.tinyRun(dir.resolve("a"));
        run.put("modules", "csf,pea");
        run.put("eval_every", "100");
        run.put("iterations", "3");
        Trainer t = TestServices.runToEnd(new Trainer("a", RunSettings.of(run), new TestServices(new CsfDistiller(), new PeaDistiller()), null, QUIET));
        assertNull(t.failure());
    }

    /** A copy of the first run's checkpoint with every tensor passed through {@code change} (name, values) and renamed by {@code rename}. */
    private Path copy(String name, BiFunction<String, float[], float[]> change, java.util.function.UnaryOperator<String> rename) throws Exception {
        Path out = dir.resolve(name);
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("a/last.safetensors"))) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            f.metadata().forEach(w::metadata);
            for (Map.Entry<String, TensorInfo> e : f.tensors().entrySet()) {
                String k = e.getKey();
                if (e.getValue().dtype() == DType.I64) w.add(rename.apply(k), e.getValue().shape(), f.readLongs(k), DType.I64);
                else w.add(rename.apply(k), e.getValue().shape(), change.apply(k, f.readFloats(k)), DType.F32);
            }
            w.write(out);
        }
        return out;
    }

    private Trainer resume(Path checkpoint, String output) {
        Map<String, Object> more = new java.util.HashMap<>(run);
        more.put("iterations", "5");
        more.put("output", dir.resolve(output).toString());
        return TestServices.runToEnd(new Trainer("b", RunSettings.of(more), new TestServices(new CsfDistiller(), new PeaDistiller()), checkpoint, QUIET));
    }

    private static float[] poison(float[] v, float value) {
        float[] c = v.clone();
        c[c.length / 2] = value;
        return c;
    }

    @Test
    void aCheckpointWithNonFiniteParametersIsRefusedNamingThem() throws Exception {
        Path bad = copy("nan.safetensors", (k, v) -> k.equals("student.linear_pred.weight") ? poison(v, Float.NaN)
                : k.equals("modules.csf.skfs.0.conv1.0.weight") ? poison(v, Float.POSITIVE_INFINITY) : v, k -> k);
        Trainer t = resume(bad, "b");
        assertEquals(RunState.FAILED, t.status().state());
        assertEquals(0, t.lossHistory().size(), "nothing was trained");
        String message = t.failure().getMessage();
        assertTrue(message.contains("student.linear_pred.weight (1 NaN or infinite values)")
                && message.contains("modules.csf.skfs.0.conv1.0.weight (1 NaN or infinite values)"), message);
    }

    @Test
    void aRefusedResumeLeavesTheRunFoldersHistoryAsItWas() throws Exception {
        Path a = dir.resolve("a");
        byte[] metrics = Files.readAllBytes(a.resolve("metrics.jsonl")), log = Files.readAllBytes(a.resolve("train.log")),
                runFile = Files.readAllBytes(a.resolve("run.cfg"));
        assertTrue(Files.readAllLines(a.resolve("metrics.jsonl")).size() > 3, "the first run logged its steps");
        // the same folder, from a checkpoint refused for a NaN, then from one refused for a flipped byte
        Path nan = copy("nan.safetensors", (k, v) -> k.equals("student.linear_pred.weight") ? poison(v, Float.NaN) : v, k -> k);
        Path flipped = copy("flipped.safetensors", (k, v) -> v, k -> k);
        TamperedFiles.flipByte(flipped, "student.linear_pred.weight");
        for (Path bad : List.of(nan, flipped)) {
            Trainer t = resume(bad, "a");
            assertEquals(RunState.FAILED, t.status().state());
            assertEquals(0, t.lossHistory().size(), "nothing was trained");
            assertArrayEquals(metrics, Files.readAllBytes(a.resolve("metrics.jsonl")), "metrics.jsonl is as it was (" + bad.getFileName() + ")");
            assertArrayEquals(log, Files.readAllBytes(a.resolve("train.log")), "train.log is as it was");
            assertArrayEquals(runFile, Files.readAllBytes(a.resolve("run.cfg")), "run.cfg is as it was");
        }
        // the good checkpoint still resumes there, and only then is the history cut back to it
        Trainer ok = resume(a.resolve("last.safetensors"), "a");
        assertNull(ok.failure());
        assertTrue(Files.readString(a.resolve("train.log")).contains("---- resumed from " + a.resolve("last.safetensors") + " at step 3"));
    }

    @Test
    void aFlippedByteInACheckpointIsRefusedNamingTheFileAndTheTensor() throws Exception {
        Path flipped = copy("flipped.safetensors", (k, v) -> v, k -> k);
        TamperedFiles.flipByte(flipped, "optim.v.student.linear_pred.weight");  // a tensor no NaN check would notice
        Trainer t = resume(flipped, "b");
        assertEquals(RunState.FAILED, t.status().state());
        String message = Trainer.describe(t.failure());
        assertTrue(message.contains(flipped.toString()) && message.contains("optim.v.student.linear_pred.weight")
                && message.contains("fails its CRC32C checksum"), message);
        assertTrue(!message.contains("Exception"), message);
    }

    @Test
    void aCheckpointWrittenBeforeChecksumsResumesWithANote() throws Exception {
        Path old = copy("old.safetensors", (k, v) -> v, k -> k);
        TamperedFiles.withoutChecksums(old);
        try (SafeTensorsFile f = SafeTensorsFile.open(old)) {
            assertTrue(!f.hasChecksums());
        }
        Trainer fromOld = resume(old, "b");
        Trainer fromNew = resume(dir.resolve("a/last.safetensors"), "c");
        assertNull(fromOld.failure());
        assertEquals(fromNew.lossHistory(), fromOld.lossHistory());
        String log = Files.readString(dir.resolve("b/train.log"));
        assertTrue(log.contains(old + " carries no checksums"), log);
    }

    @Test
    void aCheckpointWithNaNOrNegativeMomentsIsRefusedNamingThem() throws Exception {
        Path bad = copy("moments.safetensors", (k, v) -> k.equals("optim.m.student.linear_pred.bias") ? poison(v, Float.NaN)
                : k.equals("optim.v.modules.pea.embed2_linearproject.weight") ? poison(v, -1f) : v, k -> k);
        Trainer t = resume(bad, "b");
        assertEquals(RunState.FAILED, t.status().state());
        String message = t.failure().getMessage();
        assertTrue(message.contains("optim.m.student.linear_pred.bias (1 NaN or infinite values)")
                && message.contains("optim.v.modules.pea.embed2_linearproject.weight (1 NaN, infinite or negative values)"), message);
    }

    @Test
    void aCheckpointWithBareModuleKeysResumesAsTheNamespacedOne() throws Exception {
        // A Retort checkpoint written before namespaces (and TransKD's layout): module tensors under their reference keys.
        Path bare = copy("bare.safetensors", (k, v) -> v, k -> k.replaceFirst("^(optim\\.[mvt]\\.)?modules\\.(csf|pea)\\.", "$1"));
        try (SafeTensorsFile f = SafeTensorsFile.open(bare)) {
            assertTrue(f.contains("skfs.0.conv1.0.weight") && f.contains("optim.v.embed4_linearproject.weight"));
        }
        Trainer fromBare = resume(bare, "b");
        Trainer fromNamespaced = resume(dir.resolve("a/last.safetensors"), "c");
        assertNull(fromBare.failure());
        assertNull(fromNamespaced.failure());
        assertEquals(2, fromBare.lossHistory().size());
        assertEquals(fromNamespaced.lossHistory(), fromBare.lossHistory());
        String log = java.nio.file.Files.readString(dir.resolve("b/train.log"));
        assertTrue(log.contains("module tensors read under their bare reference keys"), log);
    }

    @Test
    void evaluatingANetworkWithNonFiniteParametersFailsInsteadOfScoring() throws Exception {
        try (NDManager m = TestServices.ENGINE.newBaseManager();
             SampleSource val = new SyntheticCityDataset().open(new DatasetRequest(null, "val", "transkd",
                     Map.of("height", "32", "width", "64", "val_size", "2", "augment", false)));
             BatchLoader loader = new BatchLoader(val, 2, false, 1, 1)) {
            Map<String, Object> config = Map.of("embed_dims", "8,16,24,32", "depths", "1,1,1,1", "num_heads", "1,2,3,4", "decoder_dim", "16");
            var net = new MitBackbone().build("mit-b0", config, m, 0);
            assertNotNull(Evaluation.run(net, loader, val.info(), m, 0).all());  // finite: scores
            var w = net.parameters().get("linear_pred.bias").getArray();
            w.set(java.nio.FloatBuffer.wrap(poison(w.toFloatArray(), Float.NaN)));
            var e = assertThrows(Evaluation.NonFiniteOutput.class, () -> Evaluation.run(net, loader, val.info(), m, 0));
            assertTrue(e.getMessage().contains("NaN or infinite logits"), e.getMessage());
        }
    }

    @Test
    void listsOfBadTensorsAreShortAndCounted() throws Exception {
        Path bad = copy("all.safetensors", (k, v) -> k.startsWith("student.") ? poison(v, Float.NaN) : v, k -> k);
        Trainer t = resume(bad, "b");
        String message = t.failure().getMessage();
        assertTrue(message.contains("more)"), message);
        assertTrue(List.of(message.split(", ")).size() < 20, message);
    }
}
