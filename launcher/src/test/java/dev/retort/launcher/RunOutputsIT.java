package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.launcher.Retort.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What runs leave behind, through {@code java -jar retort.jar}: a run configured in ConfigAdmin, hf export, study merges. */
class RunOutputsIT {
    private static Result retort(Path workDir, String... args) throws IOException, InterruptedException {
        return Retort.run(workDir, "", args);
    }

    /** A tiny student-only run on the synthetic city (Cityscapes classes, TransKD protocol). */
    private static List<String> tinyRun(String name, Path output) {
        return List.of("name = " + name, "output = " + output, "seed = 3",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 8", "data.val_size = 4",
                "batch_size = 2", "iterations = 3", "eval_every = 3", "decay_per = iteration", "log_every = 1", "threads = 1", "modules = none");
    }

    /** kd:train names a run configured as a ConfigAdmin factory configuration (conf/dev.retort.run-NAME.cfg); kd:export --naming hf
     *  into a folder that does not exist creates the model directory, with the dataset's class names and the ignore class. */
    @Test
    void aRunConfiguredInConfigAdminTrainsAndExportsToANewHfModelDirectory(@TempDir Path work) throws Exception {
        Files.createDirectories(work.resolve("conf"));
        Files.write(work.resolve("conf/dev.retort.run-tiny.cfg"), tinyRun("tiny", work.resolve("runs/tiny")));
        Result train = retort(work, "kd:train", "tiny");
        assertEquals(0, train.exit(), train.out() + train.err());
        assertTrue(train.out().contains("finished after 3 steps") && train.out().contains("runs/tiny"), train.out());
        Path best = work.resolve("runs/tiny/best.safetensors");
        assertTrue(Files.isRegularFile(best));

        Result export = retort(work, "kd:export", "--from", best.toString(), "--naming", "hf", "b0-hf");
        assertEquals(0, export.exit(), export.out() + export.err());
        assertTrue(Files.isDirectory(work.resolve("b0-hf")) && Files.isRegularFile(work.resolve("b0-hf/model.safetensors")), export.out());
        String config = Files.readString(work.resolve("b0-hf/config.json")).replaceAll("\\s+", "");
        assertTrue(config.contains("\"id2label\":{\"0\":\"road\",\"1\":\"sidewalk\"") && config.contains("\"18\":\"bicycle\",\"19\":\"ignore\"}")
                && config.contains("\"semantic_loss_ignore_index\":19"), config);
        assertTrue(export.out().contains("19 = ignore"), export.out());
    }

    /** kd:ablate --merge while a cell has no row fails with the cell's number instead of writing a partial table. */
    @Test
    void mergingAStudyWithAMissingArmFailsNamingIt(@TempDir Path work) throws Exception {
        List<String> grid = new ArrayList<>(tinyRun("grid", work.resolve("unused")));
        grid.removeIf(l -> l.startsWith("output") || l.startsWith("modules"));
        grid.addAll(List.of("arm.1.name = student", "arm.1.modules = none", "arm.2.name = faster", "arm.2.modules = none", "arm.2.lr = 1e-3"));
        Files.write(work.resolve("grid.cfg"), grid);
        Result one = retort(work, "kd:ablate", "--arm", "1", "--out", "study", "grid.cfg");
        assertEquals(0, one.exit(), one.out() + one.err());
        assertTrue(Files.isRegularFile(work.resolve("study/rows/arm-001-seed-3.json")));
        Result merge = retort(work, "kd:ablate", "--merge", "--out", "study", "grid.cfg");
        assertNotEquals(0, merge.exit(), merge.out() + merge.err());
        assertTrue(merge.err().contains("cell 2 (arm 2, seed 3) of 2 has no row"), merge.err());
        assertTrue(!Files.exists(work.resolve("study/results.md")), "no partial table");
    }
}
