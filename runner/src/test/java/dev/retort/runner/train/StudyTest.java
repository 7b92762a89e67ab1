package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.distill.csf.CsfDistiller;
import dev.retort.datasets.synthetic.SyntheticCityDataset;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.runner.study.Study;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kd:ablate's machinery on a 3-arm grid of tiny networks, one arm at a time as cluster array jobs would, then merged. */
class StudyTest {
    @TempDir
    Path dir;

    @Test
    void armsRunSeparatelyAndMergeIntoTableAndPlots() throws Exception {
        StringBuilder file = new StringBuilder();
        TestServices.tinyRun(dir.resolve("unused")).forEach((k, v) -> {
            if (!k.equals("output")) file.append(k).append(" = ").append(v).append('\n');
        });
        file.append("iterations = 4\neval_every = 4\n");
        file.append("arm.1.name = student\narm.1.modules = none\n");
        file.append("arm.2.name = CSF only\narm.2.modules = csf\n");
        file.append("arm.3.name = TransKD-Base\narm.3.modules = csf,pea\narm.3.module.pea.weights = 0.1,0.1,0.5,2.0\narm.3.lr = 5e-4\n");
        Path ablation = dir.resolve("grid.cfg");
        Files.writeString(ablation, file.toString());
        Path out = dir.resolve("study");
        List<Study.Arm> arms = Study.arms(ablation, out);
        assertEquals(3, arms.size());
        assertEquals(Map.of("weights", "0.1,0.1,0.5,2.0"), arms.get(2).settings().run().modules().get(1).config());
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        for (Study.Arm arm : arms) {  // one "process" per arm
            TestServices s = new TestServices(new CsfDistiller(), new PeaDistiller());
            Study.run(arm, s, (settings, log) -> {
                Trainer t = new Trainer(settings.run().name(), settings, s, null, log);
                t.run();
                return t;
            }, out, quiet);
        }
        // rows are JSON and named so
        try (var files = Files.list(out.resolve("rows"))) {
            assertEquals(List.of("arm-001.json", "arm-002.json", "arm-003.json"), files.map(f -> f.getFileName().toString()).sorted().toList());
        }
        List<Study.Row> rows = Study.merge(out, arms);
        assertEquals(List.of("student", "CSF only", "TransKD-Base"), rows.stream().map(Study.Row::name).toList());
        assertEquals(0, rows.get(0).extraParams());
        assertTrue(rows.get(2).extraParams() > rows.get(1).extraParams());
        assertEquals(rows.get(0).params(), rows.get(2).params(), "the deployed student is the same");
        assertEquals(4, rows.get(1).losses().size());
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| 3 | TransKD-Base | csf+pea | lr=5e-4; module.pea.weights=0.1,0.1,0.5,2.0 |") && md.contains("Per-class IoU"), md);
        assertTrue(md.contains("| 1 | student | none | – |"), md);
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(4, csv.size());
        // per-class columns in the dataset's class order, the same for every arm (each arm's IoU came from its own metrics.jsonl)
        List<String> classes = new SyntheticCityDataset().info().classes();
        assertEquals(classes.stream().map(c -> "iou:" + c).toList(), List.of(csv.get(0).split(",")).subList(11, 11 + classes.size()), csv.get(0));
        for (Study.Row r : rows) assertEquals(classes, List.copyOf(r.iou().keySet()));
        assertTrue(csv.get(3).contains("\"lr=5e-4; module.pea.weights=0.1,0.1,0.5,2.0\""), csv.get(3));
        for (Study.Row r : rows) {
            // training step time excludes start-up and evaluation; the wall time includes them
            assertTrue(r.msPerStep() > 0 && r.msPerStep() * r.steps() / 1000 < r.wallSeconds(), r.msPerStep() + " ms/step, " + r.wallSeconds() + " s");
            assertEquals(r.losses().size(), r.ceLosses().size());
        }
        assertEquals(rows.get(0).losses(), rows.get(0).ceLosses(), "a student-only arm's total is its cross-entropy");
        assertTrue(rows.get(2).losses().get(0) > rows.get(2).ceLosses().get(0), "distillation terms add to the total");
        assertTrue(Files.size(out.resolve("loss.png")) > 1000 && Files.size(out.resolve("miou.png")) > 1000);

        // a merge while arms have no row fails naming them, and leaves the last complete table alone
        String complete = Files.readString(out.resolve("results.md"));
        Files.delete(out.resolve("rows/arm-001.json"));
        Files.delete(out.resolve("rows/arm-003.json"));
        IllegalStateException missing = assertThrows(IllegalStateException.class, () -> Study.merge(out, arms));
        assertTrue(missing.getMessage().startsWith("arms 1, 3 of 3 have no row in "), missing.getMessage());
        assertEquals(complete, Files.readString(out.resolve("results.md")));
    }
}
