package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.RunState;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A student-only run says that the teacher keys it was given configure nothing, instead of accepting them silently. */
class TeacherlessRunTest {
    @TempDir
    Path dir;

    @Test
    void teacherKeysOfARunWithoutATeacherAreReported() throws Exception {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("solo"));
        run.keySet().removeIf(k -> k.startsWith("teacher"));
        run.put("modules", "none");
        run.put("teacher.cache", "memory");
        run.put("iterations", "1");
        run.put("eval_every", "1");
        Trainer t = TestServices.runToEnd(new Trainer("solo", RunSettings.of(run), new TestServices(), null, new PrintStream(PrintStream.nullOutputStream())));
        assertEquals(RunState.FINISHED, t.status().state(), String.valueOf(t.failure()));
        String log = Files.readString(dir.resolve("solo/train.log"));
        assertTrue(log.contains("WARNING teacher.cache configure nothing: this run has no teacher"), log);
    }
}
