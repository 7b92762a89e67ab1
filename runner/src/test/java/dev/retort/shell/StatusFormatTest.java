package dev.retort.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.RunState;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.runner.train.RunSettings;
import dev.retort.runner.train.TestServices;
import dev.retort.runner.train.Trainer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kd:status: step/total, elapsed, ETA only while running, loss terms in a stable order with their weights. */
class StatusFormatTest {
    @TempDir
    Path dir;

    private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());

    /** The loss-term lines of a status text, in order, up to and including {@code total}, split into fields. */
    private static List<String[]> termLines(String status) {
        List<String[]> lines = new ArrayList<>();
        boolean in = false;
        for (String line : status.split("\n")) {
            String[] fields = line.strip().split("\\s+");
            if (in) lines.add(fields);
            if (fields[0].equals("total")) break;
            if (line.strip().startsWith("loss term")) in = true;
        }
        return lines;
    }

    @Test
    void aFinishedRunShowsStepOfTotalElapsedNoEtaAndWeightedTermsInStepOrder() {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("run"));
        run.put("modules", "pea,csf");
        run.put("module.pea.weights", "0.1,0.2,0.5,2.0");
        Trainer t = TestServices.runToEnd(new Trainer("tiny", RunSettings.of(run), new TestServices(new PeaDistiller(), new CsfDistiller()), null, QUIET));
        String status = TrainCommands.status(t);
        assertTrue(status.startsWith("run tiny: FINISHED, step 6/6, epoch "), status);
        assertTrue(status.contains(", elapsed ") && !status.contains("ETA"), status);
        List<String[]> terms = termLines(status);
        List<String> names = terms.stream().map(a -> a[0]).toList();
        assertEquals("ce", names.get(0), status);
        assertEquals("total", names.get(names.size() - 1), status);
        assertEquals(new ArrayList<>(t.lossWeights().keySet()), names.subList(0, names.size() - 1), "the order the step computed them");
        double sum = 0;
        for (String[] a : terms.subList(0, terms.size() - 1)) {
            double value = Double.parseDouble(a[1]), weight = Double.parseDouble(a[2]), weighted = Double.parseDouble(a[3]);
            assertEquals(t.lossWeights().get(a[0]), weight, 1e-4 * Math.abs(weight), a[0]);
            assertEquals(value * weight, weighted, 1e-5 + 1e-4 * Math.abs(weighted), a[0]);
            sum += weighted;
        }
        assertEquals(Double.parseDouble(terms.get(terms.size() - 1)[1]), sum, 1e-4 * Math.abs(sum), "total = Σ weight·value");
        assertEquals(status.replaceAll("elapsed \\S+", ""), TrainCommands.status(t).replaceAll("elapsed \\S+", ""), "stable between calls");
    }

    @Test
    void aPausedRunHasNoEta() throws Exception {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("run"));
        run.put("modules", "none");
        run.put("iterations", "100000");
        run.put("eval_every", "100000");
        Trainer t = new Trainer("long", RunSettings.of(run), new TestServices(), null, QUIET);
        Thread thread = new Thread(t);
        thread.start();
        try {
            while (t.status().step() < 3) Thread.sleep(20);
            t.pause();
            while (!(t.status().state() == RunState.PAUSED)) Thread.sleep(20);
            String status = TrainCommands.status(t);
            assertTrue(status.startsWith("run long: PAUSED, step ") && status.contains("/100000, epoch "), status);
            assertFalse(status.contains("ETA"), status);
            assertEquals(null, t.status().eta());
        } finally {
            t.stop();
            thread.join();
        }
        String stopped = TrainCommands.status(t);
        assertTrue(stopped.startsWith("run long: STOPPED") && !stopped.contains("ETA"), stopped);
    }

    @Test
    void aModuleInItsPreparationIsShownWithItsStepAndLoss() {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("prep"));
        run.put("modules", "maskd");
        run.put("module.maskd.prepare_steps", "3");
        run.put("iterations", "1");
        TestServices services = new TestServices(new dev.retort.distill.maskd.MaskdDistiller());
        Trainer t = new Trainer("tiny", RunSettings.of(run), services, null, QUIET);
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        services.onEvent = e -> {
            if (e.type() == dev.retort.api.run.RunEvent.Type.PREPARED) seen.add(TrainCommands.status(t));
        };
        t.run();
        assertEquals(1, seen.size());
        assertTrue(seen.get(0).matches("(?s).*\\n  modules maskd\\n  preparing maskd before it distils: step 3/3, loss \\d+\\.\\d{5}\\n.*"), seen.get(0));
        assertFalse(TrainCommands.status(t).contains("preparing"), "not once it has finished");
    }
}
