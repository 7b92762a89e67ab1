package dev.retort.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real row files, good and bad, as {@code /api/study} reads them. */
class StudyRowsTest {
    @TempDir
    Path dir;

    static String row(int arm, String name, String miou, String steps, String losses) {
        return "{\"arm\":" + arm + ",\"name\":\"" + name + "\",\"modules\":\"csf\",\"configuration\":\"\",\"miou\":" + miou + ",\"params\":1000,"
                + "\"gflops\":0.5,\"extra_params\":10,\"ms_per_step\":12.5,\"wall_s\":3.0,\"steps\":" + steps + ",\"iou\":{\"road\":0.5},"
                + "\"losses\":[" + losses + "],\"ce_losses\":[" + losses + "]}\n";
    }

    @Test
    void curvesAreThinnedToAtMost2000PointsInArmOrder() throws Exception {
        Files.createDirectories(dir.resolve("rows"));
        StringBuilder losses = new StringBuilder();
        for (int i = 0; i < 4001; i++) losses.append(i == 0 ? "" : ",").append(i);
        Files.writeString(dir.resolve("rows/arm-002.json"), row(2, "b", "0.3", "4001", losses.toString()));
        Files.writeString(dir.resolve("rows/arm-001.json"), row(1, "a", "0.25", "3", "1.0,null,0.5"));
        Files.writeString(dir.resolve("rows/notes.txt"), "not a row");
        JsonObject o = new StudyRows(dir, System.err).json();
        JsonArray rows = o.getAsJsonArray("rows");
        assertEquals(2, rows.size(), o.toString());
        assertEquals("a", rows.get(0).getAsJsonObject().get("name").getAsString());
        assertEquals("[1.0,null,0.5]", rows.get(0).getAsJsonObject().get("losses").toString());
        // 4,001 values: stride ceil(4001 / 2000) = 3, so steps 0, 3, …, 3999: 1,334 points
        JsonObject b = rows.get(1).getAsJsonObject();
        assertEquals(3, b.get("loss_stride").getAsInt());
        assertEquals(1334, b.getAsJsonArray("losses").size());
        assertTrue(new StudyRows(dir.resolve("nowhere"), System.err).json().getAsJsonArray("rows").isEmpty());
    }

    @Test
    void badRowsAreSkippedNamedOnceAndNeverOpenedWhenNotRegularFiles() throws Exception {
        Path rows = Files.createDirectories(dir.resolve("rows"));
        Files.writeString(rows.resolve("arm-001.json"), row(1, "good", "0.25", "3", "1.0,0.9,0.8"));
        Process fifo = new ProcessBuilder("mkfifo", rows.resolve("arm-002.json").toString()).start();
        assertTrue(fifo.waitFor(10, TimeUnit.SECONDS) && fifo.exitValue() == 0, "mkfifo");
        Files.createSymbolicLink(rows.resolve("arm-003.json"), rows.resolve("arm-003.json"));  // a loop
        Files.createDirectories(rows.resolve("arm-004.json"));
        try (RandomAccessFile big = new RandomAccessFile(rows.resolve("arm-005.json").toFile(), "rw")) {
            big.setLength(StudyRows.MAX_ROW_BYTES + 1);  // sparse: costs no disk
        }
        Files.writeString(rows.resolve("arm-006.json"), row(6, "huge mIoU", "1e308", "3", "1"));
        Files.writeString(rows.resolve("arm-007.json"), row(7, "steps", "0.2", "1e400", "1"));
        Files.writeString(rows.resolve("arm-008.json"), row(8, "nan loss", "0.2", "3", "NaN"));
        Files.writeString(rows.resolve("arm-009.json"), "{\"arm\":9,");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        StudyRows study = new StudyRows(dir, new PrintStream(console, true, StandardCharsets.UTF_8));
        long t0 = System.nanoTime();
        JsonObject o = study.json();
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "a FIFO is not opened (opening it would block)");
        assertEquals(1, o.getAsJsonArray("rows").size(), o.toString());
        JsonArray skipped = o.getAsJsonArray("skipped");
        assertEquals(8, skipped.size(), skipped.toString());
        String text = skipped.toString();
        for (String expected : new String[] {"a FIFO, socket or device", "a symbolic link", "a folder", "more than a row may hold", "miou is 1e308",
                "steps is 1e400", "not a finite number", "not valid JSON"}) {
            assertTrue(text.contains(expected), expected + " in " + text);
        }
        study.json();
        study.json();
        String said = console.toString(StandardCharsets.UTF_8);
        assertEquals(8, said.lines().count(), "each bad row said once, not at every request:\n" + said);
        assertTrue(!said.contains("Exception") && !said.contains("\tat "), said);
        // a row that is fixed is shown at the next request
        Files.writeString(rows.resolve("arm-009.json"), row(9, "fixed", "0.5", "3", "1"));
        assertEquals(2, study.json().getAsJsonArray("rows").size());
    }
}
