package dev.retort.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real ablation files and row files as kd:ablate reads them: duplicate keys, bad rows, merge that writes nothing on error. */
class StudyFilesTest {
    @TempDir
    Path dir;

    private static String row(int arm, String name, String miou, String steps, String losses) {
        return "{\"arm\":" + arm + ",\"name\":\"" + name + "\",\"modules\":\"csf\",\"configuration\":\"lr=1e-4\",\"miou\":" + miou + ",\"params\":1000,"
                + "\"gflops\":0.5,\"extra_params\":10,\"ms_per_step\":12.5,\"wall_s\":3.0,\"steps\":" + steps + ",\"iou\":{\"road\":0.5,\"sky|air\":0.25},"
                + "\"losses\":[" + losses + "],\"ce_losses\":[" + losses + "]}\n";
    }

    /** A study of n arms and one seed, whose rows are the {@code arm-NNN.json} files a study of one seed reads. */
    private Study.Ablation study(int n) {
        List<Study.Arm> arms = java.util.stream.IntStream.rangeClosed(1, n).mapToObj(i -> new Study.Arm(i, "arm " + i, java.util.Map.of(), "")).toList();
        List<Study.Cell> cells = arms.stream().map(a -> new Study.Cell(a.index(), a, 7, null)).toList();
        return new Study.Ablation(dir.resolve("grid.ablation"), dir, arms, List.of(7L), null, cells);
    }

    @Test
    void aKeyGivenTwiceInAnAblationFileIsAnErrorNamingBothLines() throws Exception {
        Path file = dir.resolve("twice.ablation");
        Files.writeString(file, "student = mit-b0\narm.1.name = first\narm.1.modules = none\narm.1.name = second\n");
        String message = assertThrows(IllegalArgumentException.class, () -> Study.arms(file, dir, null)).getMessage();
        assertEquals(file + ": arm.1.name is given twice, on line 2 (arm.1.name = first) and on line 4 (arm.1.name = second); keep one", message);
        // arm.01 is arm 1
        Files.writeString(file, "student = mit-b0\narm.1.name = first\narm.01.name = other\n");
        message = assertThrows(IllegalArgumentException.class, () -> Study.arms(file, dir, null)).getMessage();
        assertEquals(file + ": arm.1.name is given twice, on line 2 (arm.1.name = first) and on line 3 (arm.01.name = other); keep one", message);
        // a name with a terminal escape
        Files.writeString(file, "student = mit-b0\narm.1.name = a\\u001b[31mred\narm.1.modules = none\n");
        message = assertThrows(IllegalArgumentException.class, () -> Study.arms(file, dir, null)).getMessage();
        assertTrue(message.startsWith("twice.ablation arm 1: name holds the character U+001B at position 2;"), message);
    }

    @Test
    void aMergeWithABadRowWritesNothingAndNamesEveryBadRow() throws Exception {
        Path rows = Files.createDirectories(dir.resolve("rows"));
        Files.writeString(rows.resolve("arm-001.json"), row(1, "good", "0.25", "3", "1.0,0.9,0.8"));
        Files.writeString(rows.resolve("arm-002.json"), row(2, "huge", "1e308", "3", "1"));
        Files.writeString(rows.resolve("arm-003.json"), row(3, "nan", "NaN", "3", "1"));
        Files.writeString(rows.resolve("arm-004.json"), row(4, "negative", "-5", "3", "1"));
        Files.writeString(rows.resolve("arm-005.json"), row(5, "steps", "0.2", "1e400", "1"));
        Files.writeString(rows.resolve("arm-006.json"), row(6, "loss", "0.2", "3", "1,1e999"));
        Files.writeString(rows.resolve("arm-007.json"), row(8, "other arm", "0.2", "3", "1"));
        Process fifo = new ProcessBuilder("mkfifo", rows.resolve("arm-008.json").toString()).start();
        assertTrue(fifo.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && fifo.exitValue() == 0);
        Files.writeString(dir.resolve("results.md"), "the earlier results\n");
        String message = assertThrows(IllegalArgumentException.class, () -> Study.merge(study(8))).getMessage();
        assertTrue(message.startsWith("merge refused, nothing was written: 7 bad row files"), message);
        for (String expected : new String[] {"arm-002.json: miou is 1e308, not a fraction in [0, 1]", "arm-003.json: miou is \"NaN\", not a fraction",
                "arm-004.json: miou is -5, not a fraction", "arm-005.json: steps is 1e400, not a whole number", "arm-006.json: losses[1] is 1e999",
                "arm-007.json: holds arm 8", "arm-008.json is not a row: not a regular file (a FIFO, socket or device)"}) {
            assertTrue(message.contains(expected), expected + " in\n" + message);
        }
        assertEquals("the earlier results\n", Files.readString(dir.resolve("results.md")));
        assertFalse(Files.exists(dir.resolve("loss.png")) || Files.exists(dir.resolve("results.csv")), "no plot or table was written");
    }

    @Test
    void aBarInANameOrAClassDoesNotBreakTheTable() throws Exception {
        Path rows = Files.createDirectories(dir.resolve("rows"));
        Files.writeString(rows.resolve("arm-001.json"), row(1, "a|b", "0.25", "3", "1.0,0.9,0.8"));
        Study.merge(study(1));
        String md = Files.readString(dir.resolve("results.md"));
        String line = md.lines().filter(l -> l.startsWith("| 1 |")).findFirst().orElseThrow();
        assertTrue(line.contains("| a\\|b | csf |"), line);
        String header = md.lines().filter(l -> l.startsWith("| arm |")).findFirst().orElseThrow();
        assertEquals(header.chars().filter(c -> c == '|').count(), line.replace("\\|", "").chars().filter(c -> c == '|').count(), "as many cells as the header: " + line);
        assertTrue(md.contains("| sky\\|air |"), md);
    }
}
