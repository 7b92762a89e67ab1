package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunFolderTest {
    @TempDir
    Path dir;

    @Test
    void aFolderHoldsOneRunAtATime() throws Exception {
        try (RunFolder first = RunFolder.claim(dir, null, false)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> RunFolder.claim(dir, null, true));
            assertTrue(e.getMessage().contains("in use by another run (process " + ProcessHandle.current().pid() + ")"), e.getMessage());
        }
        RunFolder.claim(dir, null, false).close();  // released at the end of the run
    }

    @Test
    void aNewRunRefusesAnEarlierRunsFolderUnlessItOverwrites() throws Exception {
        Files.writeString(dir.resolve("metrics.jsonl"), "{}\n");
        Files.writeString(dir.resolve("best.safetensors"), "x");
        Files.writeString(dir.resolve("notes.txt"), "mine");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> RunFolder.claim(dir, null, false));
        assertTrue(e.getMessage().contains("is not empty (best.safetensors, metrics.jsonl, notes.txt)") && e.getMessage().contains("--overwrite"),
                e.getMessage());
        assertTrue(Files.exists(dir.resolve("best.safetensors")), "a refused run touches nothing");
        try (RunFolder f = RunFolder.claim(dir, null, true)) {
            assertEquals(List.of("--overwrite: deleted the earlier run's metrics.jsonl, best.safetensors"), f.notes());
        }
        assertFalse(Files.exists(dir.resolve("best.safetensors")));
        assertTrue(Files.exists(dir.resolve("notes.txt")), "only the run's own files are deleted");
        RunFolder.claim(dir, dir.resolve("last.safetensors"), false).close();  // a resume may use a non-empty folder
    }

    @Test
    void aRefusedRunLeavesNoLockFileBehind() throws Exception {
        Files.writeString(dir.resolve("metrics.jsonl"), "{\"type\":\"STEP\",\"step\":0}\n");
        Files.writeString(dir.resolve("last.safetensors"), "x");
        assertThrows(IllegalStateException.class, () -> RunFolder.claim(dir, null, false));
        assertEquals(List.of("last.safetensors", "metrics.jsonl"), Files.list(dir).map(p -> p.getFileName().toString()).sorted().toList(),
                "the refused run created nothing");
        // a lock file an earlier run left is not this run's to delete
        Files.writeString(dir.resolve(RunFolder.LOCK), "process 1\n");
        assertThrows(IllegalStateException.class, () -> RunFolder.claim(dir, null, false));
        assertTrue(Files.exists(dir.resolve(RunFolder.LOCK)));
    }

    @Test
    void aRunThatEndedBeforeItsFirstStepLeavesNothingToProtect() throws Exception {
        Files.write(dir.resolve("metrics.jsonl"), List.of("{\"run\":\"a-1\",\"type\":\"FAILED\",\"step\":0}"));
        Files.writeString(dir.resolve("train.log"), "FAILED at step 0: module ea cannot be built\n");
        Files.writeString(dir.resolve("run.cfg"), "name = a\n");
        try (RunFolder f = RunFolder.claim(dir, null, false)) {
            assertEquals(List.of("replaced metrics.jsonl, train.log, run.cfg of an earlier run that ended before its first step"), f.notes());
        }
        // one step logged: a result, refused again
        Files.write(dir.resolve("metrics.jsonl"), List.of("{\"run\":\"a-2\",\"type\":\"STEP\",\"step\":0,\"total\":2.5}"));
        assertThrows(IllegalStateException.class, () -> RunFolder.claim(dir, null, false));
    }

    @Test
    void temporaryFilesOfInterruptedCheckpointWritesAreRemoved() throws Exception {
        Files.write(dir.resolve(".last.safetensors8812.tmp"), new byte[10]);
        Files.write(dir.resolve(".best.safetensors77.tmp"), new byte[10]);
        try (RunFolder f = RunFolder.claim(dir, dir.resolve("last.safetensors"), false)) {
            assertEquals(2, f.notes().size(), f.notes().toString());
        }
        assertEquals(List.of(RunFolder.LOCK), Files.list(dir).map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void resumingCutsTheMetricsBackToTheCheckpoint() throws Exception {
        Files.write(dir.resolve("metrics.jsonl"), List.of(
                "{\"type\":\"STEP\",\"step\":0}", "{\"type\":\"STEP\",\"step\":1}", "{\"type\":\"EVALUATION\",\"step\":2}",
                "{\"type\":\"CHECKPOINT\",\"step\":2.0,\"message\":\"best\"}", "{\"type\":\"CHECKPOINT\",\"step\":2.0,\"message\":\"last\"}",
                "{\"type\":\"STEP\",\"step\":2}", "{\"type\":\"STEP\",\"step\":3}", "{\"type\":\"STE"));
        try (RunFolder f = RunFolder.claim(dir, dir.resolve("last.safetensors"), false)) {
            assertEquals(3, f.truncateMetrics(2));
            assertEquals(5, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
            assertTrue(Files.readAllLines(dir.resolve("metrics.jsonl")).get(4).contains("last"));
            // a checkpoint this folder has no record of (taken after 1 step): keep the steps before it
            assertEquals(4, f.truncateMetrics(1));
            assertEquals(List.of("{\"type\":\"STEP\",\"step\":0}"), Files.readAllLines(dir.resolve("metrics.jsonl")));
        }
    }
}
