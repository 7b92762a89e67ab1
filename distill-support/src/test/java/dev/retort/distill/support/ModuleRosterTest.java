package dev.retort.distill.support;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Probe;
import dev.retort.api.distill.Refinement;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import dev.retort.nn.Scalars;
import dev.retort.runtime.DjlRuntime;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Building, wiring by port, forward and loading, with small modules of this test (the real ones are tested in the runner). */
class ModuleRosterTest {
    static Engine engine;
    static final TapLayout LAYOUT = new TapLayout("net", 1, List.of(new TapSpec("x", 2, 4, TapKind.MAP)));

    @TempDir
    Path dir;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    /** Offers port {@code base.in}; its term is w · Σ refine(base.in, x). Its parameter is "w" [1], initialised to config "w". */
    static Distiller base() {
        return distiller("base", (c, p) -> new Module("base", p, List.of("base.in"), List.of()) {
            @Override
            public List<LossTerm> forward(DistillStep step) {
                NDArray v = step.refine("base.in", step.student().get("x"));
                step.record("base.refined", v);
                return List.of(new LossTerm("base", 1.0, v.sum().mul(params.get("w"))));
            }
        });
    }

    /** Refines {@code port} with {@code op}, at {@code order}; also has a parameter "w" (the same reference name as base's). */
    static Distiller refiner(String name, String port, int order, BiFunction<NDArray, Float, NDArray> op, float operand) {
        return distiller(name, (c, p) -> new Module(name, p, List.of(), List.of(new Refinement() {
            public String port() {
                return port;
            }

            public int order() {
                return order;
            }

            public NDArray apply(NDArray value, DistillStep step) {
                return op.apply(value, operand);
            }
        })));
    }

    private static Distiller distiller(String name, BiFunction<DistillContext, ParameterSet, Module> module) {
        return new Distiller() {
            public String name() {
                return name;
            }

            public String description() {
                return name;
            }

            public DistillationModule build(DistillContext c) {
                ParameterSet p = new ParameterSet(c.manager(), c.seed());
                p.add("w", new Shape(1), Init.constant(Float.parseFloat(String.valueOf(c.config().containsKey("w") ? c.config().get("w") : "1"))));
                return module.apply(c, p);
            }
        };
    }

    static class Module implements DistillationModule {
        final String name;
        final ParameterSet params;
        final List<String> ports;
        final List<Refinement> refinements;

        Module(String name, ParameterSet params, List<String> ports, List<Refinement> refinements) {
            this.name = name;
            this.params = params;
            this.ports = ports;
            this.refinements = refinements;
        }

        public String name() {
            return name;
        }

        public Map<String, Parameter> parameters() {
            return params.asMap();
        }

        public List<String> ports() {
            return ports;
        }

        public List<Refinement> refinements() {
            return refinements;
        }

        public List<LossTerm> forward(DistillStep step) {
            return List.of();
        }

        public void close() {
            params.close();
        }
    }

    private static ModuleRoster.Request request(Distiller d, Map<String, ?> config) {
        return new ModuleRoster.Request(d, config);
    }

    @Test
    void refinementsRunInTheirOrderAndParametersLiveInAModuleNamespace() {
        try (NDManager m = engine.newBaseManager()) {
            List<ModuleRoster.Request> requests = List.of(request(base(), Map.of("w", "3")),
                    request(refiner("plus", "base.in", 0, (v, k) -> Scalars.add(v, k), 1f), Map.of()),
                    request(refiner("times", "base.in", -1, (v, k) -> Scalars.mul(v, k), 2f), Map.of()));
            try (ModuleRoster roster = ModuleRoster.build(requests, LAYOUT, LAYOUT, m, 0)) {
                assertEquals(Map.of("base.in", List.of("times", "plus")), roster.wiring());
                assertEquals(List.of("modules.base.w", "modules.plus.w", "modules.times.w"), List.copyOf(roster.parameters().keySet()));
                assertEquals("w", roster.references().get("modules.plus.w"));
                NDArray x = m.create(new float[] {1, 2}, new Shape(1, 2, 1, 1));
                List<NDArray> recorded = new ArrayList<>();
                Probe probe = (name, value) -> recorded.add(value);
                List<LossTerm> terms = roster.forward(new TapValues("t", Map.of("x", x)), new TapValues("s", Map.of("x", x)), true, m, probe);
                // times first: (1·2 + 1) + (2·2 + 1) = 8, times w = 3
                assertEquals(24f, terms.get(0).value().getFloat(), 1e-6f);
                assertArrayEquals(new float[] {3, 5}, recorded.get(0).toFloatArray(), 0f);
                assertEquals(1 + 1 + 1, roster.modules().stream().mapToLong(ModuleRoster::trainable).sum());
            }
        }
    }

    @Test
    void aRefinementOfAPortNoModuleOffersFailsTheBuildAndClosesWhatWasBuilt() {
        try (NDManager m = engine.newBaseManager()) {
            int before = ((BaseNDManager) m).getManagedArrays().size();
            var e = assertThrows(IllegalArgumentException.class, () -> ModuleRoster.build(
                    List.of(request(base(), Map.of()), request(refiner("lost", "other.in", 0, (v, k) -> v, 0f), Map.of())), LAYOUT, LAYOUT, m, 0));
            assertEquals("lost refines port other.in, which no active module offers (active: [base, lost], ports: [base.in])", e.getMessage());
            assertEquals(before, ((BaseNDManager) m).getManagedArrays().size(), "the built modules were closed");
            assertEquals(List.of("lost"), ModuleRoster.unwired(List.of(
                    base().build(new DistillContext(LAYOUT, LAYOUT, Map.of(), m, 0)),
                    refiner("lost", "other.in", 0, (v, k) -> v, 0f).build(new DistillContext(LAYOUT, LAYOUT, Map.of(), m, 0)))));
        }
    }

    @Test
    void aModuleThatThrowsInAStepIsNamed() {
        try (NDManager m = engine.newBaseManager()) {
            Distiller failing = refiner("failing", "base.in", 0, (v, k) -> {
                throw new IllegalStateException("boom");
            }, 0f);
            try (ModuleRoster roster = ModuleRoster.build(List.of(request(base(), Map.of()), request(failing, Map.of())), LAYOUT, LAYOUT, m, 0)) {
                NDArray x = m.create(new float[] {1, 2}, new Shape(1, 2, 1, 1));
                var f = assertThrows(ModuleRoster.ModuleFailure.class, () -> roster.forward(new TapValues("t", Map.of("x", x)),
                        new TapValues("s", Map.of("x", x)), true, m, Probe.NONE));
                assertEquals("failing", f.module());
                assertEquals("failing failed: boom", f.getMessage());
            }
        }
    }

    @Test
    void theFactoryBuildsWithTheTapsManagerAndSeedItHolds() {
        try (NDManager m = engine.newBaseManager()) {
            ModuleRoster.Factory factory = new ModuleRoster.Factory(LAYOUT, LAYOUT, m, 42);
            DistillContext c = factory.context(Map.of("w", "5"));
            assertEquals(42, c.seed());
            assertEquals(Map.of("w", "5"), c.config());
            try (DistillationModule module = factory.build(base(), Map.of("w", "5"))) {
                assertEquals(5f, module.parameters().get("w").getArray().getFloat(), 0f);
            }
        }
    }

    @Test
    void loadingTakesNamespacedOrBareKeysAndChangesNothingWhenAKeyDoesNotFit() throws Exception {
        try (NDManager m = engine.newBaseManager();
             ModuleRoster roster = ModuleRoster.build(List.of(request(base(), Map.of()), request(refiner("plus", "base.in", 0, (v, k) -> v, 0f), Map.of())),
                     LAYOUT, LAYOUT, m, 0)) {
            Path file = dir.resolve("modules.safetensors");
            new SafeTensorsWriter().add("x.modules.base.w", new long[] {1}, new float[] {7}, DType.F32)
                    .add("x.w", new long[] {1}, new float[] {9}, DType.F32).write(file);  // bare: a TransKD checkpoint's key
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                assertEquals(2, roster.load(f, "x."));
            }
            assertEquals(7f, roster.parameters().get("modules.base.w").getArray().getFloat(), 0f);
            assertEquals(9f, roster.parameters().get("modules.plus.w").getArray().getFloat(), 0f);

            Path bad = dir.resolve("bad.safetensors");
            new SafeTensorsWriter().add("modules.base.w", new long[] {2}, new float[] {1, 2}, DType.F32).write(bad);
            try (SafeTensorsFile f = SafeTensorsFile.open(bad)) {
                var e = assertThrows(IllegalArgumentException.class, () -> roster.load(f, ""));
                assertTrue(e.getMessage().contains("modules.base.w: file [2] vs module [1]") && e.getMessage().contains("missing modules.plus.w (or w)"),
                        e.getMessage());
            }
            assertEquals(7f, roster.parameters().get("modules.base.w").getArray().getFloat(), 0f, "nothing changed");
        }
    }
}
