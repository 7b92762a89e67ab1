package dev.retort.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job scripts kd:ablate --slurm writes and the sbatch options it passes through, without a cluster (SlurmStudyIT
 * submits them to a real one): bash accepts the scripts, and the pass-through is word for word.
 */
class SlurmStudyTest {
    private static Study.Ablation study(Path dir) {
        Study.Arm student = new Study.Arm(1, "student", Map.of(), ""), kd = new Study.Arm(3, "it's KD", Map.of(), "lr=1e-4");
        List<Study.Cell> cells = List.of(new Study.Cell(1, student, 3, null), new Study.Cell(2, student, 4, null), new Study.Cell(3, kd, 3, null),
                new Study.Cell(4, kd, 4, null));
        return new Study.Ablation(dir.resolve("my grid.cfg"), dir.resolve("out dir"), List.of(student, kd), List.of(3L, 4L), "student", cells);
    }

    @Test
    void theCellsScriptIsAnArrayOfTheCellsThatBashAccepts(@TempDir Path dir) throws Exception {
        SlurmStudy.Options options = new SlurmStudy.Options(SlurmStudy.words("-p gpu --time=2:00:00 --gres=gpu:1 --comment 'two words'"), null, 2, true);
        String cells = SlurmStudy.cellsScript(study(dir), options, List.of("/usr/bin/java", "-Dretort.conf=my conf", "-jar", "/opt/retort.jar"));
        for (String line : List.of("#SBATCH --array=1-4%2", "#SBATCH --requeue", "#SBATCH --signal=B:USR1@120", "#SBATCH -p gpu",
                "#SBATCH --time=2:00:00", "#SBATCH --gres=gpu:1", "#SBATCH --comment \"two words\"", "#   3 = arm 3 'it's KD', seed 3",
                "#SBATCH --output=" + dir.resolve("out dir/slurm/cell-%A_%a.out"), "RETORT=(/usr/bin/java '-Dretort.conf=my conf' -jar /opt/retort.jar)",
                "\"${RETORT[@]}\" kd:ablate --cell \"$SLURM_ARRAY_TASK_ID\" --out '" + dir.resolve("out dir") + "' '" + dir.resolve("my grid.cfg") + "' &")) {
            assertTrue(cells.contains(line + "\n"), line + " in\n" + cells);
        }
        String merge = SlurmStudy.mergeScript(study(dir), options, List.of("java", "-jar", "retort.jar"));
        assertTrue(merge.contains("#SBATCH -p gpu\n") && !merge.contains("gres"), "the merge needs no GPU:\n" + merge);
        assertTrue(merge.contains("exec \"${RETORT[@]}\" kd:ablate --merge --out '" + dir.resolve("out dir") + "'"), merge);
        for (String script : List.of(cells, merge)) {
            Path f = Files.writeString(dir.resolve("script.sh"), script);
            Process bash = new ProcessBuilder("bash", "-n", f.toString()).redirectErrorStream(true).start();
            assertTrue(bash.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, bash.exitValue(), new String(bash.getInputStream().readAllBytes()) + script);
        }
    }

    @Test
    void optionsPassThroughWordForWordAndTheArrayIsRetorts() {
        assertEquals(List.of("--partition=gpu", "--comment", "a b", "--x=\"q\""), SlurmStudy.words("--partition=gpu  --comment \"a b\" '--x=\"q\"'"));
        assertEquals(List.of("-p gpu", "--time=1:00", "-A lab", "--comment=\"a b\""), SlurmStudy.grouped(List.of("-p", "gpu", "--time=1:00", "-A", "lab", "--comment=a b")));
        assertEquals(List.of("-p", "gpu", "--mem=4G"), SlurmStudy.withoutGpus(List.of("-p", "gpu", "--gres", "gpu:2", "--gpus-per-task=1", "--mem=4G", "-G2")));
        var array = assertThrows(IllegalArgumentException.class, () -> SlurmStudy.words("--array=1-3"));
        assertTrue(array.getMessage().contains("--throttle"), array.getMessage());
        var output = assertThrows(IllegalArgumentException.class, () -> SlurmStudy.words("--output=x.log"));
        assertTrue(output.getMessage().contains("kd:ablate sets it"), output.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SlurmStudy.words("--comment 'open"));
        assertEquals("'it'\\''s'", SlurmStudy.quote("it's"));
        assertEquals("/a/b-c_d.cfg", SlurmStudy.quote("/a/b-c_d.cfg"));
    }
}
