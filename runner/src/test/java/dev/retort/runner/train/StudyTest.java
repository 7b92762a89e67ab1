package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.distill.csf.CsfDistiller;
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
        file.append("arm.3.name = TransKD-Base\narm.3.modules = csf,pea\narm.3.module.pea.weights = 0.1,0.1,0.5,2.0\n");
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
        List<Study.Row> rows = Study.merge(out);
        assertEquals(List.of("student", "CSF only", "TransKD-Base"), rows.stream().map(Study.Row::name).toList());
        assertEquals(0, rows.get(0).extraParams());
        assertTrue(rows.get(2).extraParams() > rows.get(1).extraParams());
        assertEquals(rows.get(0).params(), rows.get(2).params(), "the deployed student is the same");
        assertEquals(4, rows.get(1).losses().size());
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| 3 | TransKD-Base | csf+pea |") && md.contains("Per-class IoU"), md);
        assertTrue(Files.readString(out.resolve("results.csv")).lines().count() == 4);
        assertTrue(Files.size(out.resolve("loss.png")) > 1000 && Files.size(out.resolve("miou.png")) > 1000);
    }
}
