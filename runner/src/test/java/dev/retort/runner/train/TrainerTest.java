package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.nn.Parameter;
import dev.retort.api.run.RunState;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.run.RunEvent;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.ea.EaDistiller;
import dev.retort.distill.glmixer.GlMixerDistiller;
import dev.retort.distill.pea.PeaDistiller;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    @TempDir
    Path dir;

    private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());

    private static Trainer trainer(Map<String, Object> run, TestServices services, Path resume) {
        return new Trainer("t", RunSettings.of(run), services, resume, QUIET);
    }

    private static List<String> stepTerms(TestServices s, long step) {
        return s.events.stream().filter(e -> e.type() == RunEvent.Type.STEP && e.step() == step).findFirst().orElseThrow()
                .metrics().keySet().stream().filter(k -> !k.equals("lr") && !k.equals("images_per_s")).sorted().collect(Collectors.toList());
    }

    @Test
    void aTinyTransKdRunTrainsEvaluatesAndCheckpoints() throws Exception {
        TestServices s = new TestServices(new CsfDistiller(), new PeaDistiller());
        Map<String, Object> run = TestServices.tinyRun(dir);
        run.put("modules", "csf,pea");
        Trainer t = TestServices.runToEnd(trainer(run, s, null));
        assertNull(t.failure());
        assertEquals(RunState.FINISHED, t.status().state());
        assertEquals(6, t.lossHistory().size());
        assertTrue(t.lossHistory().stream().allMatch(Double::isFinite), t.lossHistory().toString());
        assertEquals(List.of("ce", "csf.hcl", "pea.1", "pea.2", "pea.3", "pea.4", "total"), stepTerms(s, 0));
        assertTrue(t.bestMiou() >= 0 && t.lastEvaluationTable().contains("mIoU"), t.lastEvaluationTable());
        assertTrue(Files.exists(dir.resolve("best.safetensors")) && Files.exists(dir.resolve("last.safetensors")));
        assertTrue(Files.readAllLines(dir.resolve("metrics.jsonl")).stream().anyMatch(l -> l.contains("\"type\":\"EVALUATION\"")));
        assertEquals(2, s.events.stream().filter(e -> e.type() == RunEvent.Type.EVALUATION).count());
    }

    @Test
    void resumingFromACheckpointReproducesTheUninterruptedLossSequence() throws Exception {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("a"));
        run.put("modules", "csf,pea");
        run.put("eval_every", "100");
        List<Double> full = TestServices.runToEnd(trainer(run, new TestServices(new CsfDistiller(), new PeaDistiller()), null)).lossHistory();

        Map<String, Object> first = new java.util.HashMap<>(run);
        first.put("output", dir.resolve("b").toString());
        first.put("iterations", "3");
        TestServices.runToEnd(trainer(first, new TestServices(new CsfDistiller(), new PeaDistiller()), null));
        Map<String, Object> second = new java.util.HashMap<>(first);
        second.put("iterations", "6");
        List<Double> resumed = TestServices.runToEnd(trainer(second, new TestServices(new CsfDistiller(), new PeaDistiller()),
                dir.resolve("b/last.safetensors"))).lossHistory();
        assertEquals(full.subList(3, 6), resumed, "steps 4..6 after resuming at step 3");
    }

    @Test
    void swapsTakeEffectAtTheNextStepBoundary() throws Exception {
        TestServices s = new TestServices(new CsfDistiller(), new PeaDistiller(), new GlMixerDistiller());
        Map<String, Object> run = TestServices.tinyRun(dir);  // no 'modules' key: follow the registry
        run.put("iterations", "8");
        Trainer t = trainer(run, s, null);
        s.onEvent = e -> {
            if (e.type() != RunEvent.Type.STEP) return;
            if (e.step() == 2) {  // a bundle stops mid-run
                s.remove("pea");
                t.modulesChanged();
            }
            if (e.step() == 4) t.disable("csf");  // kd:disable
            if (e.step() == 5) {  // a new bundle starts
                s.add(new PeaDistiller());
                s.add(new EaDistiller());
                t.modulesChanged();
            }
        };
        t.run();
        assertNull(t.failure());
        assertEquals(List.of("ce", "csf.hcl", "pea.1", "pea.2", "pea.3", "pea.4", "total"), stepTerms(s, 2));
        assertEquals(List.of("ce", "csf.hcl", "total"), stepTerms(s, 3), "PEA gone, GL-Mixer left out without its port");
        assertEquals(List.of("ce", "total"), stepTerms(s, 5));
        assertEquals(List.of("ce", "pea.1", "pea.2", "pea.3", "pea.4", "total"), stepTerms(s, 6));
        List<RunEvent> swaps = s.events.stream().filter(e -> e.type() == RunEvent.Type.MODULES_CHANGED).toList();
        assertEquals(List.of(0L, 3L, 5L, 6L), swaps.stream().map(RunEvent::step).toList());  // 0: the first build
        assertTrue(swaps.get(3).message().contains("[ea, glmixer, pea]"), swaps.get(3).message());
        // each active module's parameters (params.<module>, for views that list modules) add up to module_params
        assertEquals(List.of("module_params", "params.csf", "params.glmixer", "params.pea"), List.copyOf(swaps.get(0).metrics().keySet()));
        assertEquals(List.of("module_params", "params.csf"), List.copyOf(swaps.get(1).metrics().keySet()));
        assertEquals(List.of("module_params"), List.copyOf(swaps.get(2).metrics().keySet()), "no module active after kd:disable csf");
        for (RunEvent swap : swaps) {
            double sum = swap.metrics().entrySet().stream().filter(m -> m.getKey().startsWith("params.")).mapToDouble(Map.Entry::getValue).sum();
            assertEquals(swap.metrics().get("module_params"), sum, 0.0, swap.toString());
        }
        assertEquals(swaps.get(0).metrics().get("params.csf"), swaps.get(1).metrics().get("params.csf"));
    }

    @Test
    void liveArraysDoNotGrowOver100Steps() throws Exception {
        TestServices s = new TestServices(new CsfDistiller(), new PeaDistiller());
        Map<String, Object> run = TestServices.tinyRun(dir);
        run.put("modules", "csf,pea");
        run.put("iterations", "100");
        run.put("eval_every", "1000");
        Trainer t = trainer(run, s, null);
        long[] live = new long[101];
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP) live[(int) e.step()] = t.liveArrays();
        };
        t.run();
        assertNull(t.failure());
        assertEquals(100, t.lossHistory().size());
        assertEquals(live[10], live[99], "managed arrays at step 10 and step 99: " + java.util.Arrays.toString(live));
    }

    /** A distiller whose module fails or returns NaN from a given step on. */
    static Distiller faulty(String name, int fromStep, boolean nan) {
        return new Distiller() {
            public String name() {
                return name;
            }

            public String description() {
                return "test";
            }

            public DistillationModule build(DistillContext c) {
                int[] calls = {0};
                return new DistillationModule() {
                    public String name() {
                        return name;
                    }

                    public Map<String, Parameter> parameters() {
                        return Map.of();
                    }

                    public List<LossTerm> forward(DistillStep step) {
                        if (calls[0]++ < fromStep) return List.of();
                        if (!nan) throw new IllegalStateException("boom");
                        return List.of(new LossTerm(name, 1, step.manager().create(Float.NaN)));
                    }

                    public void close() {}
                };
            }
        };
    }

    @Test
    void aThrowingModuleIsDisabledAndTrainingContinues() {
        TestServices s = new TestServices(new PeaDistiller(), faulty("flaky", 2, false));
        Trainer t = TestServices.runToEnd(trainer(TestServices.tinyRun(dir), s, null));
        assertNull(t.failure());
        assertEquals(RunState.FINISHED, t.status().state());
        assertTrue(Double.isNaN(t.lossHistory().get(2)), "the failing step is skipped");
        assertTrue(t.lossHistory().subList(3, 6).stream().allMatch(Double::isFinite));
        assertTrue(t.disabledModules().contains("flaky"));
    }

    @Test
    void aNonFiniteLossIsSkippedOrStopsTheRunByPolicy() {
        TestServices s = new TestServices(faulty("nan", 3, true));
        Trainer skip = TestServices.runToEnd(trainer(TestServices.tinyRun(dir.resolve("skip")), s, null));
        assertEquals(RunState.FINISHED, skip.status().state());
        assertEquals(3, skip.lossHistory().stream().filter(Double::isFinite).count());
        Map<String, Object> stop = TestServices.tinyRun(dir.resolve("stop"));
        stop.put("on_nonfinite", "stop");
        Trainer stopped = TestServices.runToEnd(trainer(stop, new TestServices(faulty("nan", 3, true)), null));
        assertEquals(RunState.STOPPED, stopped.status().state());
        assertEquals(3, stopped.status().step());
        assertFalse(stopped.lossHistory().subList(0, 3).stream().anyMatch(d -> d.isNaN()));
    }
}
