package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.RunState;
import dev.retort.api.run.RunEvent;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.ea.EaDistiller;
import dev.retort.distill.glmixer.GlMixerDistiller;
import dev.retort.distill.pea.PeaDistiller;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A module listed in {@code modules} is required: a run never trains without it, it fails at start with the reason. */
class RequestedModulesTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    private Trainer run(Map<String, Object> keys, TestServices services) {
        Trainer t = new Trainer("t", RunSettings.of(keys), services, null, new PrintStream(log, true, StandardCharsets.UTF_8));
        t.run();
        return t;
    }

    private static TestServices transKd() {
        return new TestServices(new CsfDistiller(), new PeaDistiller(), new GlMixerDistiller(), new EaDistiller());
    }

    private Map<String, Object> tiny(String modules) {
        Map<String, Object> m = TestServices.tinyRun(dir);
        m.put("iterations", "2");
        if (modules != null) m.put("modules", modules);
        return m;
    }

    private static void assertFailedAtStart(Trainer t, TestServices s, String message) {
        assertEquals(RunState.FAILED, t.status().state());
        assertEquals(message, t.failure().getMessage());
        assertEquals(0, t.status().step());
        assertTrue(s.events.stream().noneMatch(e -> e.type() == RunEvent.Type.STEP), "no step was trained");
    }

    @Test
    void anUnknownModuleInTheListFailsTheRunAtStartListingTheRegisteredOnes() {
        TestServices s = transKd();
        Trainer t = run(tiny("csf,pae"), s);
        assertFailedAtStart(t, s, "unknown module pae (did you mean pea?) in modules = csf,pae; registered: csf, ea, glmixer, pea");
    }

    @Test
    void aRequestedModuleWithABadValueFailsTheRunAtStart() {
        Map<String, Object> m = tiny("csf,pea");
        m.put("module.csf.mid_channels", "0");
        TestServices s = transKd();
        assertFailedAtStart(run(m, s), s, "csf: mid_channels must be an integer >= 1, got '0'");
    }

    @Test
    void aRequestedModuleThatCannotBeBuiltForThisPairFailsTheRunAtStartWithTheReason() {
        Map<String, Object> m = tiny("pea,ea");
        m.put("module.ea.lambdas", "0.1,0.2,0.3");
        m.put("module.ea.mus", "0.5,0.6,0.7");
        TestServices s = transKd();
        assertFailedAtStart(run(m, s), s, "module ea is in this run's module list but cannot be built: ea: lambdas and mus need one value per"
                + " student stage (4), got 3 and 3");
        TestServices alone = transKd();
        Trainer orphan = run(tiny("csf,glmixer"), alone);
        assertEquals(RunState.FAILED, orphan.status().state());
        assertTrue(orphan.failure().getMessage().startsWith("glmixer refines port pea.input.4, which no active module offers"), orphan.failure().getMessage());
    }

    @Test
    void aRunThatFollowsTheRegistryLeavesOutWhatCannotBeBuiltAndSaysSo() {
        Map<String, Object> m = tiny(null);
        m.put("module.ea.lambdas", "0.1,0.2,0.3");
        m.put("module.ea.mus", "0.5,0.6,0.7");
        TestServices s = transKd();
        Trainer t = run(m, s);
        assertEquals(RunState.FINISHED, t.status().state(), String.valueOf(t.failure()));
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("module ea cannot be built and is left out: ea: lambdas and mus need one value per student stage (4)"), text);
        assertEquals(java.util.List.of("csf", "glmixer", "pea"), t.status().activeModules());
    }
}
