package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.run.Runner;
import dev.retort.api.tap.TapNames;
import dev.retort.study.Study;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.test.common.annotation.InjectService;

/** Ablation studies through the api's Runner service in a real Felix framework: arms run one by one, rows merge into tables and plots. */
class StudyTest extends FrameworkTest {
    @InjectService(timeout = 10_000)
    Runner runner;

    @InjectService(timeout = 10_000, filter = "(retort.backbone.variants=mit-b2)")
    Backbone backbone;

    @InjectService(timeout = 10_000, filter = "(retort.dataset=synthetic)")
    SegmentationDataset synthetic;

    private static String base(Path dir) {
        return String.join("\n", "seed = 5",
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 8", "data.val_size = 4",
                "batch_size = 2", "iterations = 4", "eval_every = 4", "decay_per = iteration", "decay_steps = 100", "lr = 1e-3", "threads = 2",
                "log_every = 1", "");
    }

    @Test
    void armsRunSeparatelyAndMergeIntoTableAndPlots(@TempDir Path dir) throws Exception {
        Path ablation = dir.resolve("grid.cfg");
        Files.writeString(ablation, base(dir) + String.join("\n", "arm.1.name = student", "arm.1.modules = none",
                "arm.2.name = CSF only", "arm.2.modules = csf",
                "arm.3.name = TransKD-Base", "arm.3.modules = csf,pea", "arm.3.module.pea.weights = 0.1,0.1,0.5,2.0", "arm.3.lr = 5e-4", ""));
        Path out = dir.resolve("study");
        Study.Ablation study = Study.read(ablation, out, runner);
        assertEquals(3, study.arms().size());
        assertEquals(List.of(5L), study.seeds(), "the run's seed when the file lists no seeds");
        assertEquals(Map.of("weights", "0.1,0.1,0.5,2.0"), study.cells().get(2).plan().config().modules().get(1).config());
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        for (Study.Cell cell : study.cells()) Study.run(cell, runner, context, false, out, quiet, null);
        try (var files = Files.list(out.resolve("rows"))) {  // rows are JSON and named so
            assertEquals(List.of("arm-001-seed-5.json", "arm-002-seed-5.json", "arm-003-seed-5.json"), files.map(f -> f.getFileName().toString()).sorted().toList());
        }
        List<Study.Row> rows = Study.merge(study);
        assertEquals(List.of("student", "CSF only", "TransKD-Base"), rows.stream().map(Study.Row::name).toList());
        assertEquals(0, rows.get(0).extraParams());
        assertTrue(rows.get(2).extraParams() > rows.get(1).extraParams());
        assertEquals(rows.get(0).params(), rows.get(2).params(), "the deployed student is the same");
        assertEquals(4, rows.get(1).losses().size());
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| 3 | TransKD-Base | csf+pea | lr=5e-4; module.pea.weights=0.1,0.1,0.5,2.0 | 5 |") && md.contains("Per-class IoU"), md);
        assertTrue(md.contains("| 1 | student | none | – | 5 |"), md);
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(4, csv.size());
        // per-class columns in the dataset's class order, the same for every arm (each arm's IoU came from its run's result)
        List<String> classes = synthetic.info().classes();
        // arm,name,modules,configuration,seeds,miou_mean,miou_std,miou:seed=5,gain_mean,gain_std,gain_verdict,gain_p,params,gflops,extra_params,ms_per_step,wall_s,steps
        assertEquals(classes.stream().map(c -> "iou:" + c).toList(), List.of(csv.get(0).split(",")).subList(18, 18 + classes.size()), csv.get(0));
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
        Files.delete(out.resolve("rows/arm-001-seed-5.json"));
        Files.delete(out.resolve("rows/arm-003-seed-5.json"));
        IllegalStateException missing = assertThrows(IllegalStateException.class, () -> Study.merge(study));
        assertTrue(missing.getMessage().startsWith("cells 1 (arm 1, seed 5), 3 (arm 3, seed 5) of 3 have no row in "), missing.getMessage());
        assertEquals(complete, Files.readString(out.resolve("results.md")));
    }

    /**
     * seeds = …: every arm with every seed, cells numbered arm by arm; a seed gives every arm the same data and
     * initialisation; the table has every seed's value and the paired gain over the baseline; a cell with its row is
     * not run again, and a row of another study in the folder is refused.
     */
    @Test
    void seedsAreAStudyDimensionWithPairedGains(@TempDir Path dir) throws Exception {
        Path ablation = dir.resolve("seeds.cfg");
        Files.writeString(ablation, base(dir).replace("seed = 5\n", "").replace("iterations = 4", "iterations = 2").replace("eval_every = 4", "eval_every = 2")
                + String.join("\n", "seeds = 11, 12, 13",
                "baseline = student", "arm.1.name = student", "arm.1.modules = none", "arm.2.name = higher lr", "arm.2.modules = none", "arm.2.lr = 3e-3", ""));
        Path out = dir.resolve("study");
        Study.Ablation study = Study.read(ablation, out, runner);
        assertEquals(List.of(11L, 12L, 13L), study.seeds());
        assertEquals(6, study.cells().size());
        Study.Cell fourth = study.cell(4);
        assertEquals(2, fourth.arm().index());
        assertEquals(11L, fourth.seed());
        assertEquals(11L, fourth.plan().config().seed());
        assertEquals(out.resolve("arm-2-seed-11"), fourth.plan().output());
        assertEquals(List.of(study.cell(5)), study.cells(2, 12L));
        var outside = assertThrows(IllegalArgumentException.class, () -> study.cell(7));
        assertTrue(outside.getMessage().contains("cells are 1..6 (2 arms × 3 seeds, numbered arm by arm)"), outside.getMessage());
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        for (Study.Cell cell : study.cells()) Study.run(cell, runner, context, false, out, quiet, null);
        List<Study.Row> rows = Study.merge(study);
        // the same seed: the same first batch and initialisation in both arms (the learning rate acts after the first loss)
        assertEquals(rows.get(0).losses().get(0), rows.get(3).losses().get(0));
        assertTrue(!rows.get(0).losses().get(0).equals(rows.get(1).losses().get(0)), "another seed, another start");
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| 1 | student | none | – | 11, 12, 13 | "), md);
        assertTrue(md.contains("Paired gain over 'student'") && md.matches("(?s).*\\| 2 \\| higher lr \\| [+-]\\d+\\.\\d\\d ± \\d+\\.\\d\\d \\| .*"), md);
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertTrue(csv.get(0).startsWith("arm,name,modules,configuration,seeds,miou_mean,miou_std,miou:seed=11,miou:seed=12,miou:seed=13,gain_mean"), csv.get(0));
        assertEquals(3, csv.size());

        // a cell with its row is not run again; a folder's rows of another file are refused
        assertTrue(Study.existingRow(out, study.cell(1)).isPresent());
        Path other = dir.resolve("other.cfg");
        Files.writeString(other, Files.readString(ablation).replace("arm.2.lr = 3e-3", "arm.2.lr = 1e-4"));
        Study.Ablation changed = Study.read(other, out, runner);
        var mixed = assertThrows(IllegalStateException.class, () -> Study.existingRow(out, changed.cell(4)));
        assertTrue(mixed.getMessage().contains("is the row of another study"), mixed.getMessage());
        var perArmSeed = assertThrows(IllegalArgumentException.class, () -> {
            Files.writeString(other, Files.readString(ablation) + "arm.1.seed = 4\n");
            Study.read(other, out, runner);
        });
        assertTrue(perArmSeed.getMessage().contains("arm.1.seed is the study's, not an arm's"), perArmSeed.getMessage());
    }

    @Test
    void anAblationFileNamesBadKeysWhereTheyAreWritten(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("grid.cfg");
        Files.writeString(file, "student = mit-b0\nbach_size = 2\narm.1.modules = none\n");
        var base = assertThrows(IllegalArgumentException.class, () -> Study.arms(file, dir, runner));
        assertTrue(base.getMessage().startsWith("grid.cfg: unknown key 'bach_size' (did you mean batch_size?)"), base.getMessage());
        Files.writeString(file, "student = mit-b0\narm.1.modules = none\narm.2.iteratons = 5\n");
        var arm = assertThrows(IllegalArgumentException.class, () -> Study.arms(file, dir, runner));
        assertTrue(arm.getMessage().startsWith("grid.cfg arm 2: unknown key 'arm.2.iteratons' (did you mean arm.2.iterations?)"), arm.getMessage());
        Files.writeString(file, "student = mit-b0\narm.1.modules = none\narm.1.name = base\narm.2.lr = NaN\n");
        var value = assertThrows(IllegalArgumentException.class, () -> Study.arms(file, dir, runner));
        assertEquals("grid.cfg arm 2 (arm-2): run: lr must be a finite number, got 'NaN'", value.getMessage());
    }

    /** Two arms with the same teacher, data and MasKD configuration: the second loads the first one's tokens from the study folder. */
    @Test
    void armsShareAModulesPreparationThroughTheStudyFolder(@TempDir Path dir) throws Exception {
        Path ablation = dir.resolve("grid.cfg");
        // two steps instead of the base's four: replaced in place, as a key given twice is an error
        Files.writeString(ablation, base(dir).replace("iterations = 4", "iterations = 2").replace("eval_every = 4", "eval_every = 2")
                + String.join("\n", "module.maskd.prepare_steps = 3",
                "arm.1.name = maskd", "arm.1.modules = maskd", "arm.2.name = maskd-lr", "arm.2.modules = maskd", "arm.2.lr = 5e-4", ""));
        Path out = dir.resolve("study");
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        for (Study.Cell cell : Study.read(ablation, out, runner).cells()) Study.run(cell, runner, context, false, out, quiet, null);
        try (var cached = Files.list(out.resolve(Study.PREPARATIONS))) {
            assertEquals(1, cached.filter(f -> f.getFileName().toString().startsWith("maskd-")).count(), "one preparation in the study folder");
        }
        String first = Files.readString(out.resolve("arm-1-seed-5/train.log")), second = Files.readString(out.resolve("arm-2-seed-5/train.log"));
        assertTrue(first.contains("preparing maskd before it distils") && !first.contains("reused from"), first);
        assertTrue(second.contains("preparation of maskd reused from " + out.resolve(Study.PREPARATIONS)) && !second.contains("preparing maskd before"), second);
    }

    /**
     * kd:bench on tiny networks: phases, utilisation against a product rate measured in the process (the teacher's
     * FLOPs those of its backbone's cost counter), --methods with a student-only baseline, and --set checked like kd:train.
     */
    @Test
    void kdBenchPrintsPhasesUtilisationAndModuleSharesPerMethod(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("bench.cfg");
        Files.writeString(run, base(dir) + "name = bench\nmodules = csf,pea\n");
        String one = Gogo.run(shell, "kd:bench --run " + run.toString().replace('\\', '/') + " --steps 2 --set batch_size=1 32x64");
        for (String phase : List.of("teacher forward", "student forward", "module forward", "backward", "optimizer", "images/s", "peak RSS",
                "step arrays", "allocator", "freed native memory")) {
            assertTrue(one.contains(phase), phase + " in " + one);
        }
        // the step's high-water mark, counted in the run: at least its images (1×3×32×64 float32) and at most the process
        Matcher arrays = Pattern.compile("step arrays +([0-9.]+) MB").matcher(one), rss = Pattern.compile("peak RSS +([0-9.]+) MB").matcher(one);
        assertTrue(arrays.find() && rss.find(), one);
        assertTrue(Double.parseDouble(arrays.group(1)) >= 0.0 && Double.parseDouble(arrays.group(1)) < Double.parseDouble(rss.group(1)), one);
        Matcher dense = Pattern.compile("dense fp32 product 2048x2048 on \\S+: ([0-9.]+) GFLOP/s").matcher(one);
        assertTrue(dense.find(), one);
        assertTrue(Double.parseDouble(dense.group(1)) > 0, one);
        // the teacher computes only what csf and pea read (stage embeddings and features): its decode head is not run
        Set<String> taps = new TreeSet<>();
        for (int s = 1; s <= 4; s++) taps.addAll(List.of(TapNames.embeds(s), TapNames.features(s)));
        assertTrue(one.contains("teacher taps     " + String.join(", ", taps) + " (no module reads the teacher's logits: its decode head is not run)"), one);
        // the teacher's FLOPs per batch (of 1 here): 2 × (MACs + attention products) of its cost at 32×64 for those taps
        Map<String, Object> teacher = new TreeMap<>(Map.of("embed_dims", "16,32,48,64", "depths", "1,1,1,1", "num_heads", "1,2,3,4", "decoder_dim", "32"));
        ModelCost cost = backbone.cost("mit-b2", teacher, 32, 64, taps);
        assertTrue(cost.attentionMacs() > 0);
        assertTrue(cost.macs() < backbone.cost("mit-b2", teacher, 32, 64).macs(), "the head's share is left out");
        String perBatch = String.format("(%.2f GFLOP per batch)", 2 * (cost.macs() + cost.attentionMacs()) / 1e9);
        assertTrue(one.contains(perBatch), perBatch + " in " + one);
        assertTrue(Pattern.compile("step +[0-9.]+ GFLOP/s +[0-9.]+% of the fp32 product rate").matcher(one).find(), one);
        // the host transfers as counted over the timed steps: the batch up (images, labels), one stacked read back
        Matcher transfers = Pattern.compile("host transfers +([0-9.]+) per step: ([0-9.]+) uploads, ([0-9.]+) reads \\(counted over the timed steps\\)").matcher(one);
        assertTrue(transfers.find(), one);
        assertEquals(List.of("3.00", "2.00", "1.00"), List.of(transfers.group(1), transfers.group(2), transfers.group(3)), one);

        String methods = Gogo.run(shell, "kd:bench --run " + run.toString().replace('\\', '/') + " --steps 1 --methods csf,tat 32x64");
        assertTrue(methods.contains("(student)"), methods);
        for (String method : List.of("csf", "tat")) {
            assertTrue(Pattern.compile("(?m)^  " + method + " +[0-9.]+ ms +[0-9.]+% +-?[0-9.]+ ms +-?[0-9.]+% +[0-9.]+ ms").matcher(methods).find(), methods);
        }
        var bad = assertThrows(Exception.class, () -> Gogo.run(shell, "kd:bench --run " + run.toString().replace('\\', '/') + " --set bach_size=1 32x64"));
        assertTrue(bad.getMessage().contains("unknown key 'bach_size' (did you mean batch_size?)"), bad.getMessage());
    }
}
