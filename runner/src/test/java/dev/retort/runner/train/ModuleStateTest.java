package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.retort.api.run.RunState;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.run.RunEvent;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.distill.support.ConfiguredDistiller;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What happens to a module's trained state when its configuration changes, when it is disabled, and when others join. */
class ModuleStateTest {
    @TempDir
    Path dir;

    private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());

    /** A real distiller that remembers the modules it built, so a test can look at their parameters. */
    static final class Recording implements Distiller {
        final Distiller inner;
        final List<DistillationModule> built = new CopyOnWriteArrayList<>();

        Recording(Distiller inner) {
            this.inner = inner;
        }

        public String name() {
            return inner.name();
        }

        public String description() {
            return inner.description();
        }

        public boolean enabled() {
            return inner.enabled();
        }

        public DistillationModule build(DistillContext c) {
            DistillationModule m = inner.build(c);
            built.add(m);
            return m;
        }

        DistillationModule last() {
            return built.get(built.size() - 1);
        }
    }

    /** Applies a ConfigAdmin configuration to a distiller component as SCR does (its @Modified method, given the properties). */
    static void configure(Distiller d, Map<String, Object> values) {
        ((ConfiguredDistiller<?>) d).configure(values);
    }

    /** The registry's view of a re-configured service: same object, a new generation, the cause told to the run. */
    static void updated(TestServices s, Trainer t, Distiller d) {
        s.distillers.removeIf(r -> r.distiller() == d);
        s.add(d);
        t.modulesChanged(d.name(), "configuration changed (test)");
    }

    static Map<String, float[]> values(DistillationModule m) {
        Map<String, float[]> v = new LinkedHashMap<>();
        m.parameters().forEach((k, p) -> v.put(k, p.getArray().toFloatArray()));
        return v;
    }

    static void assertSameValues(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, v) -> assertArrayEquals(v, actual.get(k), k));
    }

    static long steps(Path checkpoint, String key) throws Exception {
        try (SafeTensorsFile f = SafeTensorsFile.open(checkpoint)) {
            return f.readLongs("optim.t." + key)[0];
        }
    }

    static String log(Path run) throws Exception {
        return Files.readString(run.resolve("train.log"));
    }

    private static Trainer trainer(Map<String, Object> run, TestServices services) {
        return new Trainer("t", RunSettings.of(run), services, null, QUIET);
    }

    @Test
    void aChangeOfLossWeightsKeepsTheTrainedParametersAndTheirMoments() throws Exception {
        PeaDistiller peaService = new PeaDistiller();
        Recording csf = new Recording(new CsfDistiller()), pea = new Recording(peaService);
        TestServices s = new TestServices(csf, pea);
        Map<String, Object> run = TestServices.tinyRun(dir);
        run.put("modules", "csf,pea");
        run.put("eval_every", "100");
        Trainer t = trainer(run, s);
        List<Map<String, float[]>> seen = new ArrayList<>();
        s.onEvent = e -> {
            try {
                if (e.type() == RunEvent.Type.STEP && e.step() == 2) {
                    seen.add(values(pea.last()));  // after step 2's update
                    configure(peaService, Map.of("weights", "0.2,0.2,1.0,2.0"));
                    updated(s, t, pea);
                }
                if (e.type() == RunEvent.Type.MODULES_CHANGED && e.step() == 3) seen.add(values(pea.last()));  // at the boundary
            } catch (Exception x) {
                throw new AssertionError(x);
            }
        };
        t.run();
        assertNull(t.failure());
        // requested modules are built once by the start-up check (then closed) and once for the run
        assertEquals(2, pea.built.size(), "PEA was not rebuilt");
        assertEquals(2, seen.size());
        assertSameValues(seen.get(0), seen.get(1));
        RunEvent swap = s.events.stream().filter(e -> e.type() == RunEvent.Type.MODULES_CHANGED && e.step() == 3).findFirst().orElseThrow();
        assertTrue(swap.message().contains("pea re-configured in place (configuration changed (test)): stage weights 0.1,0.1,0.5,1.0 -> 0.2,0.2,1.0,2.0;"
                + " trained parameters and AdamW moments kept"), swap.message());
        assertTrue(log(dir).contains("pea re-configured in place"), log(dir));
        assertTrue(Files.readString(dir.resolve("metrics.jsonl")).contains("pea re-configured in place"));
        // AdamW's step count of a PEA parameter went on through the change, as CSF's (6 updates, not 3).
        Path last = dir.resolve("last.safetensors");
        assertEquals(steps(last, "modules.csf.skfs.0.conv1.0.weight"), steps(last, "modules.pea.embed4_linearproject.weight"));
        assertTrue(steps(last, "modules.pea.embed4_linearproject.weight") > 3);
    }

    @Test
    void aStructuralChangeRebuildsTheModuleAndSaysSo() throws Exception {
        CsfDistiller csfService = new CsfDistiller();
        Recording csf = new Recording(csfService), pea = new Recording(new PeaDistiller());
        TestServices s = new TestServices(csf, pea);
        Map<String, Object> run = TestServices.tinyRun(dir);
        run.put("modules", "csf,pea");
        run.put("eval_every", "100");
        Trainer t = trainer(run, s);
        s.onEvent = e -> {
            try {
                if (e.type() == RunEvent.Type.STEP && e.step() == 2) {
                    configure(csfService, Map.of("midChannels", 32));
                    updated(s, t, csf);
                }
            } catch (Exception x) {
                throw new AssertionError(x);
            }
        };
        t.run();
        assertNull(t.failure());
        // requested modules are built once by the start-up check (then closed) and once for the run
        assertEquals(3, csf.built.size(), "CSF was rebuilt");
        assertEquals(2, pea.built.size(), "PEA was kept");
        assertTrue(log(dir).contains("csf rebuilt from scratch (configuration changed (test)): mid_channels 64 -> 32 changes the parameter shapes;"
                + " its trained parameters and AdamW moments are released"), log(dir));
        Path last = dir.resolve("last.safetensors");
        try (SafeTensorsFile f = SafeTensorsFile.open(last)) {
            assertEquals(32, f.info("modules.csf.skfs.0.conv1.0.weight").shape()[0]);
        }
        // The rebuilt CSF started from zero moments at step 3; PEA went on.
        assertEquals(3, steps(last, "modules.pea.embed4_linearproject.weight") - steps(last, "modules.csf.skfs.0.conv1.0.weight"));
    }

    @Test
    void disablingAndEnablingAModuleContinuesFromItsParameters() throws Exception {
        Recording csf = new Recording(new CsfDistiller()), pea = new Recording(new PeaDistiller());
        TestServices s = new TestServices(csf, pea);
        Map<String, Object> run = TestServices.tinyRun(dir);
        run.put("modules", "csf,pea");
        run.put("eval_every", "100");
        run.put("checkpoint_every", "1");
        Trainer t = trainer(run, s);
        List<Map<String, float[]>> seen = new ArrayList<>();
        AtomicInteger builds = new AtomicInteger();
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP && e.step() == 1) {
                seen.add(values(pea.last()));
                builds.set(pea.built.size());  // the start-up check's trial build and the run's own
                t.disable("pea");
            }
            if (e.type() == RunEvent.Type.STEP && e.step() == 3) t.enable("pea");
            if (e.type() == RunEvent.Type.MODULES_CHANGED && e.step() == 4) seen.add(values(pea.last()));
        };
        t.run();
        assertNull(t.failure());
        assertEquals(builds.get(), pea.built.size(), "PEA was kept while disabled, not rebuilt");
        assertSameValues(seen.get(0), seen.get(1));
        String log = log(dir);
        assertTrue(log.contains("pea left the run (kd:disable); its parameters and AdamW moments are kept for when it returns"), log);
        assertTrue(log.contains("pea is back (kd:enable), with the parameters and AdamW moments it had at step 2"), log);
        Path last = dir.resolve("last.safetensors");
        // PEA trained at steps 0, 1, 4, 5 and CSF at every step: the moments went on, they did not restart at step 4.
        assertEquals(2, steps(last, "modules.csf.skfs.0.conv1.0.weight") - steps(last, "modules.pea.embed4_linearproject.weight"));
    }

    @Test
    void aDisabledModuleStaysDisabledWithItsStateAcrossAResume() throws Exception {
        Recording pea = new Recording(new PeaDistiller());
        TestServices s = new TestServices(new CsfDistiller(), pea);
        Map<String, Object> run = TestServices.tinyRun(dir);
        run.put("modules", "csf,pea");
        run.put("eval_every", "100");
        run.put("iterations", "3");
        Trainer t = trainer(run, s);
        List<Map<String, float[]>> seen = new ArrayList<>();
        AtomicInteger builds = new AtomicInteger();
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP && e.step() == 1) {
                seen.add(values(pea.last()));
                builds.set(pea.built.size());  // the start-up check's trial build and the run's own
                t.disable("pea");
            }
        };
        t.run();
        assertNull(t.failure());
        Map<String, Object> more = new java.util.HashMap<>(run);
        more.put("iterations", "5");
        Recording pea2 = new Recording(new PeaDistiller());
        TestServices s2 = new TestServices(new CsfDistiller(), pea2);
        Trainer resumed = new Trainer("t2", RunSettings.of(more), s2, dir.resolve("last.safetensors"), QUIET);
        s2.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP && e.step() == 3) {
                seen.add(values(pea2.last()));
                assertEquals(List.of("csf"), resumed.status().activeModules());
            }
        };
        resumed.run();
        assertNull(resumed.failure());
        assertEquals(List.of("ce", "csf.hcl", "total"), s2.events.stream().filter(e -> e.type() == RunEvent.Type.STEP && e.step() == 3).findFirst()
                .orElseThrow().metrics().keySet().stream().filter(k -> !k.equals("lr") && !k.equals("images_per_s")).sorted().toList());
        assertSameValues(seen.get(0), seen.get(1));
        assertTrue(resumed.disabledModules().contains("pea"));
    }

    /** A drop-in whose one parameter has PEA's reference name, trained towards zero. */
    static Distiller dropIn(String name) {
        return new Distiller() {
            public String name() {
                return name;
            }

            public String description() {
                return "test drop-in";
            }

            public DistillationModule build(DistillContext c) {
                ParameterSet p = new ParameterSet(c.manager(), c.seed());
                p.add("embed4_linearproject.weight", new Shape(4, 4), Init.ones());
                return new DistillationModule() {
                    public String name() {
                        return name;
                    }

                    public Map<String, Parameter> parameters() {
                        return p.asMap();
                    }

                    public List<LossTerm> forward(DistillStep step) {
                        return List.of(new LossTerm(name, 1, p.get("embed4_linearproject.weight").square().mean()));
                    }

                    public void close() {
                        p.close();
                    }
                };
            }
        };
    }

    @Test
    void aDropInWhoseParameterNamesCollideJoinsInItsOwnNamespace() throws Exception {
        TestServices s = new TestServices(new CsfDistiller(), new PeaDistiller());
        Map<String, Object> run = TestServices.tinyRun(dir);  // follows the registry
        run.put("eval_every", "100");
        Trainer t = trainer(run, s);
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP && e.step() == 2) {
                s.add(dropIn("dropin"));
                t.modulesChanged("dropin", "bundle test.dropin 1.0.0 installed (dropped in)");
            }
        };
        t.run();
        assertNull(t.failure());
        assertEquals(RunState.FINISHED, t.status().state());
        assertTrue(log(dir).contains("dropin joined (bundle test.dropin 1.0.0 installed (dropped in))"), log(dir));
        assertTrue(s.events.stream().anyMatch(e -> e.type() == RunEvent.Type.STEP && e.step() == 4 && e.metrics().containsKey("dropin")
                && e.metrics().containsKey("pea.4")));
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("last.safetensors"))) {
            assertTrue(f.contains("modules.pea.embed4_linearproject.weight"));
            assertTrue(f.contains("modules.dropin.embed4_linearproject.weight"));
            assertTrue(f.readFloats("modules.dropin.embed4_linearproject.weight")[0] < 1, "the drop-in trained");
        }
    }

    @Test
    void aModuleThatCannotJoinIsLeftOutAndTheRunGoesOn() throws Exception {
        Distiller broken = new Distiller() {
            public String name() {
                return "broken";
            }

            public String description() {
                return "test";
            }

            public DistillationModule build(DistillContext c) {
                return new DistillationModule() {
                    public String name() {
                        return "broken";
                    }

                    public Map<String, Parameter> parameters() {
                        throw new IllegalStateException("no parameters today");
                    }

                    public List<LossTerm> forward(DistillStep step) {
                        return List.of();
                    }

                    public void close() {}
                };
            }
        };
        Distiller unlinked = new Distiller() {
            public String name() {
                return "unlinked";
            }

            public String description() {
                return "test";
            }

            public DistillationModule build(DistillContext c) {
                throw new NoClassDefFoundError("com/example/Missing");
            }
        };
        TestServices s = new TestServices(new CsfDistiller(), new PeaDistiller());
        Map<String, Object> run = TestServices.tinyRun(dir);
        run.put("eval_every", "100");
        Trainer t = trainer(run, s);
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP && e.step() == 2) {
                s.add(broken);
                s.add(unlinked);
                t.modulesChanged();
            }
        };
        t.run();
        assertNull(t.failure());
        assertEquals(RunState.FINISHED, t.status().state());
        assertEquals(6, t.lossHistory().stream().filter(Double::isFinite).count());
        String log = log(dir);
        assertTrue(log.contains("module broken cannot join the run and is left out: it fails when asked for its parameters, ports or refinements"), log);
        assertTrue(log.contains("module unlinked cannot be built and is left out: com/example/Missing"), log);
        assertEquals(List.of("csf", "pea"), t.status().activeModules());
    }

    @Test
    void aSkippedStepLeavesTheBatchNormRunningStatisticsAsTheyWere() throws Exception {
        // csf (BatchNorm in training mode) runs before 'nan', which returns a NaN loss from its fourth call on.
        Path skipped = runWithCheckpointCopy(dir.resolve("skip"), true);
        Path clean = runWithCheckpointCopy(dir.resolve("clean"), false);
        List<String> buffers = new ArrayList<>();
        try (SafeTensorsFile before = SafeTensorsFile.open(skipped.resolve("after-3.safetensors"));
             SafeTensorsFile after = SafeTensorsFile.open(skipped.resolve("last.safetensors"))) {
            for (String k : before.tensors().keySet()) {
                if (!k.endsWith("running_mean") && !k.endsWith("running_var")) continue;
                buffers.add(k);
                assertArrayEquals(before.readFloats(k), after.readFloats(k), k + " after the skipped step 4");
            }
        }
        assertTrue(buffers.contains("student.linear_fuse.bn.running_mean") && buffers.contains("modules.csf.skfs.0.conv1.1.running_var"), buffers.toString());
        // The same step without the NaN does move them: the comparison above can fail.
        try (SafeTensorsFile before = SafeTensorsFile.open(clean.resolve("after-3.safetensors"));
             SafeTensorsFile after = SafeTensorsFile.open(clean.resolve("last.safetensors"))) {
            assertFalse(java.util.Arrays.equals(before.readFloats("modules.csf.skfs.0.conv1.1.running_mean"),
                    after.readFloats("modules.csf.skfs.0.conv1.1.running_mean")));
        }
    }

    private Path runWithCheckpointCopy(Path out, boolean nan) throws Exception {
        TestServices s = nan ? new TestServices(new CsfDistiller(), TrainerTest.faulty("nan", 3, true)) : new TestServices(new CsfDistiller());
        Map<String, Object> run = TestServices.tinyRun(out);
        run.put("iterations", "4");
        run.put("eval_every", "100");
        run.put("checkpoint_every", "1");
        Trainer t = trainer(run, s);
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.CHECKPOINT && e.step() == 3) {
                try {
                    Files.copy(out.resolve("last.safetensors"), out.resolve("after-3.safetensors"));
                } catch (java.io.IOException x) {
                    throw new java.io.UncheckedIOException(x);
                }
            }
        };
        t.run();
        assertNull(t.failure());
        assertEquals(nan ? 3 : 4, t.lossHistory().stream().filter(Double::isFinite).count());
        return out;
    }

    @Test
    void aRunCheckpointIsReadByKdWeightsAndKdConvert() throws Exception {
        Map<String, Object> run = TestServices.tinyRun(dir);
        run.put("modules", "csf,pea");
        run.put("iterations", "2");
        run.put("eval_every", "100");
        TestServices.runToEnd(trainer(run, new TestServices(new CsfDistiller(), new PeaDistiller())));
        Path checkpoint = dir.resolve("last.safetensors");
        try (SafeTensorsFile f = SafeTensorsFile.open(checkpoint)) {
            assertEquals(0, f.info("optim.t.student.linear_pred.weight").shape().length, "the 0-d counter that broke kd:weights is there");
        }
        Map<String, Object> config = dev.retort.shell.ModelCommands.networkConfig("mit-b0", checkpoint);
        assertEquals("8,16,24,32", config.get("embed_dims"));
        assertEquals(20L, ((Number) config.get("num_classes")).longValue());
        String summary = dev.retort.shell.ModelCommands.runCheckpoint(checkpoint);
        assertNotNull(summary);
        assertTrue(summary.matches("run checkpoint: took its \\d+ student\\.\\* tensors; skipped \\d+ AdamW state tensors \\(optim\\.\\*\\) and \\d+"
                + " distillation-module tensors \\(csf \\d+, pea \\d+\\); the run's student is mit-b0"), summary);
        try (ai.djl.ndarray.NDManager m = TestServices.ENGINE.newBaseManager()) {
            var backbone = new dev.retort.backbones.mit.MitBackbone();
            var net = backbone.build("mit-b0", config, m, 0);
            var report = net.load(checkpoint, dev.retort.api.backbone.LoadMode.STRICT);
            assertEquals(net.parameters().size(), report.loaded());
            Path hf = dir.resolve("hf.safetensors");
            net.save(hf, "hf");  // kd:convert
            var copy = backbone.build("mit-b0", config, m, 1);
            assertEquals("hf", copy.load(hf, dev.retort.api.backbone.LoadMode.STRICT).naming());
            assertArrayEquals(net.parameters().get("linear_pred.weight").getArray().toFloatArray(),
                    copy.parameters().get("linear_pred.weight").getArray().toFloatArray());
            assertNull(dev.retort.shell.ModelCommands.runCheckpoint(hf));
        }
    }
}
