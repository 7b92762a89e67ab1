package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunState;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A PVTv2-B0 student (the preset, Semantic FPN head) distilled from a tiny MiT teacher with CSF + PEA on synthetic
 * scenes whose size is not a multiple of 32, through the real trainer: training and evaluation.
 */
class OddSizeRunTest {
    @TempDir
    Path dir;

    /**
     * 88×120: stage maps 22×30, 11×15, 6×8, 3×4 for both networks, labels 22×30 (the logits' size). 89×121: the same
     * stage maps from 23×31, and labels round(89/4)×round(121/4) = 22×30, so training and evaluation shrink the logits
     * to the labels.
     */
    @ParameterizedTest
    @CsvSource({"88,120", "89,121"})
    void aPvtv2StudentFromAMitTeacherTrainsFiniteAndEvaluates(int height, int width) throws Exception {
        TestServices s = new TestServices(new CsfDistiller(), new PeaDistiller());
        Map<String, Object> run = TestServices.tinyRun(dir);
        run.keySet().removeIf(k -> k.startsWith("student."));
        run.put("student", "pvtv2-b0");
        run.put("modules", "csf,pea");
        run.put("data.height", String.valueOf(height));
        run.put("data.width", String.valueOf(width));
        run.put("iterations", "4");
        run.put("eval_every", "4");
        Trainer t = TestServices.runToEnd(new Trainer("odd", RunSettings.of(run), s, null, new PrintStream(PrintStream.nullOutputStream())));
        assertNull(t.failure());
        assertEquals(RunState.FINISHED, t.status().state());
        assertEquals(4, t.lossHistory().size());
        assertTrue(t.lossHistory().stream().allMatch(Double::isFinite), t.lossHistory().toString());
        RunEvent first = s.events.stream().filter(e -> e.type() == RunEvent.Type.STEP && e.step() == 0).findFirst().orElseThrow();
        for (String term : List.of("ce", "csf.hcl", "pea.1", "pea.2", "pea.3", "pea.4")) {
            assertTrue(first.metrics().containsKey(term) && Double.isFinite(first.metrics().get(term)), term + " in " + first.metrics());
        }
        assertEquals(1, s.events.stream().filter(e -> e.type() == RunEvent.Type.EVALUATION).count());
        assertTrue(t.bestMiou() >= 0 && t.lastEvaluationTable().contains("mIoU"), t.lastEvaluationTable());
        assertTrue(Files.exists(dir.resolve("last.safetensors")));
    }
}
