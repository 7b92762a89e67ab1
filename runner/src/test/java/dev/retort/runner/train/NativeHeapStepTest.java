package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunState;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.nn.NativeHeap;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training step gives the allocator's freed memory back after its arrays are closed when more than the bound
 * ({@code -Dretort.malloc_trim}) is free: counted by {@link NativeHeap#releases()} between the runner's STEP events of
 * real tiny csf + pea runs.
 */
class NativeHeapStepTest {
    @TempDir
    Path dir;

    private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());

    @AfterEach
    void clear() {
        System.clearProperty(NativeHeap.PROPERTY);
    }

    /** The releases between consecutive STEP events of a 4-step run under {@code bound}. */
    private List<Long> releasesPerStep(String bound, String name) {
        System.setProperty(NativeHeap.PROPERTY, bound);
        Map<String, Object> run = TestServices.tinyRun(dir.resolve(name));
        run.put("modules", "csf,pea");
        run.put("iterations", "4");
        run.put("eval_every", "100");
        TestServices s = new TestServices(new CsfDistiller(), new PeaDistiller());
        List<Long> at = new ArrayList<>();
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP) at.add(NativeHeap.releases());
        };
        Trainer t = new Trainer("t", RunSettings.of(run), s, null, QUIET);
        t.run();
        assertEquals(RunState.FINISHED, t.status().state(), String.valueOf(t.failure()));
        List<Long> d = new ArrayList<>();
        for (int i = 1; i < at.size(); i++) d.add(at.get(i) - at.get(i - 1));
        return d;
    }

    @Test
    void aBoundOfZeroGivesBackAfterEveryStepAndOffNever() {
        assumeTrue(NativeHeap.heldFree() >= 0, "glibc 2.33 or later");
        assertEquals(List.of(1L, 1L, 1L), releasesPerStep("0", "zero"), "one release per step");
        assertEquals(List.of(0L, 0L, 0L), releasesPerStep("off", "off"), "none");
        // a tiny run leaves far less than a terabyte free
        assertEquals(List.of(0L, 0L, 0L), releasesPerStep("1t", "large"), "under the bound");
    }

    @Test
    void aMistypedBoundFailsTheRunBeforeItsFirstStep() {
        System.setProperty(NativeHeap.PROPERTY, "lots");
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("bad"));
        run.put("iterations", "2");
        TestServices s = new TestServices();
        List<RunEvent> steps = new ArrayList<>();
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP) steps.add(e);
        };
        Trainer t = new Trainer("t", RunSettings.of(run), s, null, QUIET);
        t.run();
        assertEquals(RunState.FAILED, t.status().state());
        assertTrue(String.valueOf(t.failure()).contains("-Dretort.malloc_trim=lots"), String.valueOf(t.failure()));
        assertEquals(List.of(), steps, "no step ran");
    }
}
