package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.EvaluationReport;
import dev.retort.api.run.EvaluationRequest;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kd:eval} of a published weights file (no run inside it): evaluated as the network and data the request names. */
class PublishedEvaluationTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    Path dir;

    /** The student of a run's checkpoint as a plain state dict: no {@code retort.run}, no optimiser, bare keys. */
    private static Path published(Path checkpoint, Path out) throws Exception {
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(checkpoint)) {
            for (String k : f.tensors().keySet()) {
                if (k.startsWith("student.")) w.add(k.substring("student.".length()), f.info(k).shape(), f.readFloats(k), DType.F32);
            }
        }
        w.write(out);
        return out;
    }

    @Test
    void aPublishedFileEvaluatesAsTheNetworkItIsGivenExactlyAsTheRunCheckpointItCameFrom() throws Exception {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("a"));
        run.put("modules", "csf,pea");
        run.put("iterations", "2");
        run.put("eval_every", "2");
        TestServices services = new TestServices(new CsfDistiller(), new PeaDistiller());
        Trainer t = TestServices.runToEnd(new Trainer("a", RunSettings.of(run), services, null, QUIET));
        assertNull(t.failure());
        Path checkpoint = dir.resolve("a/last.safetensors");
        EvaluationReport fromRun = CheckpointEvaluation.run(new EvaluationRequest(checkpoint, null, null, null, 0, QUIET), services);

        Path file = published(checkpoint, dir.resolve("student.safetensors"));
        Map<String, Object> network = new LinkedHashMap<>();
        run.forEach((k, v) -> {
            if (k.startsWith("student") || k.startsWith("data.") || k.equals("batch_size") || k.equals("threads")) network.put(k, v);
        });
        EvaluationReport fromFile = CheckpointEvaluation.run(new EvaluationRequest(file, network, "synthetic", null, null, 0, QUIET), services);
        assertEquals(fromRun.pixels(), fromFile.pixels());
        assertFalse(fromRun.metrics().isEmpty());
        assertEquals(fromRun.metrics(), fromFile.metrics(), "the same weights on the same split give the same figures");

        // no network named: a clear answer, not a default
        Map<String, Object> noStudent = new LinkedHashMap<>(network);
        noStudent.keySet().removeIf(k -> k.startsWith("student"));
        String m = assertThrows(RetortConfigException.class,
                () -> CheckpointEvaluation.run(new EvaluationRequest(file, noStudent, "synthetic", null, null, 0, QUIET), services)).getMessage();
        assertTrue(m.contains("carries no run: say which network"), m);
        // no dataset named: the file has none to fall back on (never the synthetic default)
        m = assertThrows(RetortConfigException.class,
                () -> CheckpointEvaluation.run(new EvaluationRequest(file, network, null, null, null, 0, QUIET), services)).getMessage();
        assertTrue(m.contains("say which dataset"), m);
        // a run file naming other student weights: refused, never one of the two silently
        Map<String, Object> otherWeights = new LinkedHashMap<>(network);
        otherWeights.put("student.weights", checkpoint.toString());
        m = assertThrows(RetortConfigException.class,
                () -> CheckpointEvaluation.run(new EvaluationRequest(file, otherWeights, "synthetic", null, null, 0, QUIET), services)).getMessage();
        assertTrue(m.contains("names other student weights"), m);
        // a file without a run, evaluated as a run checkpoint: refused, pointing at --variant
        m = assertThrows(RetortConfigException.class,
                () -> CheckpointEvaluation.run(new EvaluationRequest(file, null, null, null, 0, QUIET), services)).getMessage();
        assertTrue(m.contains("is not a Retort run checkpoint"), m);
    }
}
