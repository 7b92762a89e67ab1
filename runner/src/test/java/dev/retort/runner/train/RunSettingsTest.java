package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every key of a run is read by someone and every number is what it claims to be: never a silently different run. */
class RunSettingsTest {
    @TempDir
    Path dir;

    private Map<String, Object> run(String key, String value) {
        Map<String, Object> m = TestServices.tinyRun(dir);
        m.remove("iterations");
        m.put(key, value);
        return m;
    }

    private String rejected(String key, String value) {
        return assertThrows(IllegalArgumentException.class, () -> RunSettings.of(run(key, value))).getMessage();
    }

    @Test
    void aKeyGivenTwiceInARunFileIsAnErrorNamingBothLines() throws Exception {
        Path file = dir.resolve("twice.cfg");
        Files.writeString(file, "name = twice\n# a comment\nlr = 1e-3\nbatch_size = 2\nlr = 5e-1\n");
        String message = assertThrows(IllegalArgumentException.class, () -> RunSettings.read(file)).getMessage();
        assertEquals(file + ": lr is given twice, on line 3 (lr = 1e-3) and on line 5 (lr = 5e-1); keep one", message);
        // continuation lines and escapes mean what they mean in java.util.Properties; the line is where the key starts
        Files.writeString(file, "name = a\\\n  b\nmodules = csf,\\\n   pea\nname : c\n");
        message = assertThrows(IllegalArgumentException.class, () -> RunSettings.read(file)).getMessage();
        assertTrue(message.contains("name is given twice, on line 1 (name = ab) and on line 5 (name = c)"), message);
    }

    @Test
    void controlAndInvisibleCharactersInANameAreRefusedByTheirCode() {
        assertTrue(rejected("name", "evil\u001b[2Jrun").startsWith("run: name holds the character U+001B at position 5;"));
        assertTrue(rejected("name", "two\nlines").startsWith("run: name holds the character U+000A at position 4;"));
        assertTrue(rejected("name", "abc\u202edef").startsWith("run: name holds the character U+202E at position 4;"));  // a bidi override
        assertEquals("Straße 北京 (run-2) #3", RunSettings.of(run("name", "Straße 北京 (run-2) #3")).run().name());
    }

    @Test
    void aBatchLargerThanTheTrainingSplitIsRefusedSayingHowLargeTheSplitIs() {
        Map<String, Object> m = TestServices.tinyRun(dir.resolve("big-batch"));
        m.put("batch_size", "1e9");
        Trainer t = TestServices.runToEnd(new Trainer("b", RunSettings.of(m), new TestServices(), null, new java.io.PrintStream(java.io.OutputStream.nullOutputStream())));
        assertTrue(t.failure() != null && Trainer.describe(t.failure()).startsWith("batch_size 1000000000 is larger than the training split ("),
                String.valueOf(t.failure()));
        assertEquals(0, t.lossHistory().size());
    }

    @Test
    void decayPerNoneKeepsTheLearningRateConstantAndRefusesDecaySteps() {
        Map<String, Object> m = TestServices.tinyRun(dir);
        m.put("decay_per", "none");
        m.remove("decay_steps");
        RunSettings s = RunSettings.of(m);
        assertEquals(0, s.run().optimisation().decaySteps());
        Trainer t = new Trainer("t", s, new TestServices(), null, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        assertEquals(1e-3, t.learningRate(1));
        assertEquals(1e-3, t.learningRate(500));
        m.put("decay_steps", "100");
        String both = assertThrows(IllegalArgumentException.class, () -> RunSettings.of(m)).getMessage();
        assertTrue(both.contains("decay_steps has no effect with decay_per = none"), both);
        assertTrue(rejected("decay_per", "step").contains("decay_per must be epoch, iteration or none"));
    }

    @Test
    void initNamesAFile() {
        assertTrue(rejected("init", "").contains("init needs a file"));
        Map<String, Object> m = TestServices.tinyRun(dir);
        m.put("init", "weights.safetensors");
        assertEquals(Path.of("weights.safetensors").toAbsolutePath(), RunSettings.of(m).init());
    }

    @Test
    void misspeltKeysAreErrorsThatNameTheClosestKnownKey() {
        String iterations = rejected("iteratons", "3");
        assertTrue(iterations.startsWith("run: unknown key 'iteratons' (did you mean iterations?); known keys: "), iterations);
        assertTrue(iterations.contains("batch_size") && iterations.contains("checkpoint_every"), iterations);
        assertTrue(rejected("bach_size", "8").startsWith("run: unknown key 'bach_size' (did you mean batch_size?)"));
        String frobnicate = rejected("frobnicate", "7");
        assertTrue(frobnicate.startsWith("run: unknown key 'frobnicate'; known keys: "), frobnicate);
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', value = {
            "lr | NaN | run: lr must be a finite number, got 'NaN'",
            "lr | Infinity | run: lr must be a finite number, got 'Infinity'",
            "lr | 0 | run: lr must be a number > 0, got '0'",
            "weight_decay | -0.01 | run: weight_decay must be a number >= 0.0, got '-0.01'",
            "decay_steps | 0 | run: decay_steps must be an integer >= 1, got '0'",
            "seed | 1.7 | run: seed must be an integer, got '1.7'",
            "threads | 0 | run: threads must be an integer >= 1, got '0'",
            "prefetch | 0 | run: prefetch must be an integer >= 1, got '0'",
            "log_every | 0 | run: log_every must be an integer >= 1, got '0'",
            "checkpoint_every | -1 | run: checkpoint_every must be an integer >= 0 (0 = at evaluations), got '-1'",
            "batch_size | 0 | run: batch_size must be an integer >= 1, got '0'",
            "batch_size | 2.5 | run: batch_size must be an integer, got '2.5'",
            "iterations | 0 | run: iterations must be an integer >= 1, got '0'",
            "epochs | 0 | run: epochs must be an integer >= 1, got '0'",
            "eval_every | 0 | run: eval_every must be an integer >= 1, got '0'",
            "eval_batches | -1 | run: eval_batches must be an integer >= 0, got '-1'",
            "threads | many | run: threads must be an integer, got 'many'",
            "lr | 1e308 | run: lr must be at most 1.0 (AdamW moves every weight by about lr per step; TransKD uses 6e-5), got '1e308'",
            "name | a/b | run: name holds the character U+002F at position 2; a name may hold letters, digits, spaces and ._-+=,@()[]#% only (no control or invisible characters, no path separators)",
            "name | .hidden | run: name '.hidden' must not start with a dot or start or end with a space"})
    void everyNumberIsCheckedAndTheMessageNamesItsKey(String key, String value, String message) {
        assertEquals(message, rejected(key, value));
    }

    @Test
    void wholeNumbersWrittenAsDecimalsAndTheDefaultsStillRead() {
        Map<String, Object> m = run("seed", "3.0");
        m.remove("log_every");
        RunSettings s = RunSettings.of(m);
        assertEquals(3, s.run().seed());
        assertEquals(1000, s.run().optimisation().epochs());
        assertEquals(10, s.logEvery());
        assertEquals("set epochs or iterations, not both",
                assertThrows(IllegalArgumentException.class, () -> RunSettings.of(Map.of("student", "mit-b0", "epochs", "2", "iterations", "3")))
                        .getMessage().substring(5));
    }

    @Test
    void overridesOnTheCommandLineAreCheckedAsTheFileIs() {
        RunSettings s = RunSettings.of(TestServices.tinyRun(dir));
        var e = assertThrows(IllegalArgumentException.class, () -> s.with(Map.of("bach_size", "8")));
        assertTrue(e.getMessage().contains("unknown key 'bach_size' (did you mean batch_size?)"), e.getMessage());
        var set = assertThrows(IllegalArgumentException.class, () -> RunSettings.requireKnown("--set", "", List.of("iteratons")));
        assertTrue(set.getMessage().startsWith("--set: unknown key 'iteratons' (did you mean iterations?)"), set.getMessage());
    }

    @Test
    void aMisspeltModuleKeyIsRefusedByItsDistillerBeforeTheRunStarts() {
        Map<String, Object> m = TestServices.tinyRun(dir);
        m.put("modules", "csf,pea");
        m.put("module.csf.mid_chanels", "8");
        RunSettings s = RunSettings.of(m);
        var services = new TestServices(new CsfDistiller(), new PeaDistiller()).distillers();
        var e = assertThrows(IllegalArgumentException.class, () -> Trainer.checkModules(s, services));
        assertEquals("csf: unknown key 'module.csf.mid_chanels' (did you mean module.csf.mid_channels?); known keys: module.csf.mid_channels,"
                + " module.csf.weight", e.getMessage());
        // also when the run follows the registry: its module sections are used, so they are checked
        m.remove("modules");
        var follow = assertThrows(IllegalArgumentException.class, () -> Trainer.checkModules(RunSettings.of(m), services));
        assertTrue(follow.getMessage().contains("did you mean module.csf.mid_channels?"), follow.getMessage());
        m.remove("module.csf.mid_chanels");
        m.put("module.pae.stages", "4");
        var module = assertThrows(IllegalArgumentException.class, () -> Trainer.checkModules(RunSettings.of(m), services));
        assertEquals("unknown module pae (did you mean pea?) in module.pae.* keys; registered: csf, pea", module.getMessage());
    }
}
