package dev.retort.runner.modules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Probe;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.ea.EaDistiller;
import dev.retort.distill.glmixer.GlMixerDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ModuleRosterTest {
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    private static ModuleRoster.Request req(Distiller d) {
        return new ModuleRoster.Request(d, Map.of());
    }

    @Test
    void parameterCountsForB2ToB0MatchTheReference() {
        try (NDManager m = engine.newBaseManager()) {
            Map<String, Long> counts = new HashMap<>();
            for (Distiller d : List.of(new CsfDistiller(), new PeaDistiller(), new GlMixerDistiller(), new EaDistiller())) {
                try (ModuleRoster set = ModuleRoster.build(List.of(req(new PeaDistiller()), req(d)).subList(d instanceof PeaDistiller ? 1 : 0, 2),
                        MitLayouts.B2, MitLayouts.B0, m, 0)) {
                    counts.put(d.name(), ModuleRoster.trainable(set.modules().get(set.modules().size() - 1)));
                }
            }
            assertEquals(Map.of("csf", 650_304L, "pea", 193_536L, "glmixer", 656_130L, "ea", 970_952L), counts);
        }
    }

    @Test
    void aRefinerWithoutItsPortFailsTheBuildNamingBoth() {
        try (NDManager m = engine.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> ModuleRoster.build(List.of(req(new CsfDistiller()), req(new GlMixerDistiller())), MitLayouts.B2, MitLayouts.B0, m, 0));
            assertTrue(e.getMessage().contains("glmixer refines port pea.input.4") && e.getMessage().contains("csf"), e.getMessage());
            var partial = assertThrows(IllegalArgumentException.class, () -> ModuleRoster.build(
                    List.of(new ModuleRoster.Request(new PeaDistiller(), Map.of("stages", "3,4")), req(new EaDistiller())), MitLayouts.B2, MitLayouts.B0, m, 0));
            assertTrue(partial.getMessage().contains("ea refines port pea.output.1"), partial.getMessage());
        }
    }

    @Test
    void tapsThatDoNotFitFailWhenTheModuleIsBuiltNamingBothSides() {
        TapLayout threeStages = MitLayouts.of("tiny-3", 8, 16, 24);
        try (NDManager m = engine.newBaseManager()) {
            var csf = assertThrows(IllegalArgumentException.class, () -> new CsfDistiller().build(
                    new dev.retort.api.distill.DistillContext(MitLayouts.B2, threeStages, Map.of(), m, 0)));
            assertTrue(csf.getMessage().contains("tiny-3") && csf.getMessage().contains("mit-b2"), csf.getMessage());
            var pea = assertThrows(IllegalArgumentException.class, () -> new PeaDistiller().build(
                    new dev.retort.api.distill.DistillContext(MitLayouts.B2, threeStages, Map.of(), m, 0)));
            assertTrue(pea.getMessage().contains("tiny-3") && pea.getMessage().contains("embeds.4"), pea.getMessage());
            var heads = assertThrows(IllegalArgumentException.class, () -> new GlMixerDistiller().build(
                    new dev.retort.api.distill.DistillContext(MitLayouts.B2, MitLayouts.B0, Map.of("heads", 7), m, 0)));
            assertTrue(heads.getMessage().contains("7 heads"), heads.getMessage());
        }
    }

    @Test
    void glMixerAndEaChangeWhatPeaComparesWithoutNewTermNames() {
        try (NDManager m = engine.newBaseManager()) {
            TapValues teacher = random(m, MitLayouts.B2), student = random(m, MitLayouts.B0);
            Map<String, Float> base = terms(m, teacher, student, List.of(req(new CsfDistiller()), req(new PeaDistiller())));
            Map<String, Float> gl = terms(m, teacher, student, List.of(req(new CsfDistiller()), req(new PeaDistiller()), req(new GlMixerDistiller())));
            Map<String, Float> ea = terms(m, teacher, student, List.of(req(new CsfDistiller()), req(new PeaDistiller()), req(new EaDistiller())));
            assertEquals(List.of("csf.hcl", "pea.1", "pea.2", "pea.3", "pea.4"), List.copyOf(base.keySet()));
            assertEquals(base.keySet(), gl.keySet());
            assertEquals(base.get("pea.3"), gl.get("pea.3"));
            assertNotEquals(base.get("pea.4"), gl.get("pea.4"));
            for (String k : List.of("pea.1", "pea.2", "pea.3", "pea.4")) assertNotEquals(base.get(k), ea.get(k), k);
            assertEquals(base.get("csf.hcl"), ea.get("csf.hcl"), 1e-6);
        }
    }

    private static Map<String, Float> terms(NDManager m, TapValues teacher, TapValues student, List<ModuleRoster.Request> requests) {
        try (ModuleRoster set = ModuleRoster.build(requests, MitLayouts.B2, MitLayouts.B0, m, 3)) {
            Map<String, Float> out = new java.util.LinkedHashMap<>();
            for (LossTerm t : set.forward(teacher, student, false, m, Probe.NONE)) out.put(t.name(), t.value().getFloat());
            return out;
        }
    }

    /** Random taps of a 2×3×64×128 batch. */
    static TapValues random(NDManager m, TapLayout layout) {
        Map<String, NDArray> taps = new HashMap<>();
        for (TapSpec t : layout.taps()) {
            long h = 64 / t.stride(), w = 128 / t.stride();
            Shape shape = switch (t.kind()) {
                case MAP -> new Shape(2, t.channels(), h, w);
                case TOKENS -> new Shape(2, h * w, t.channels());
            };
            taps.put(t.name(), m.randomNormal(shape));
        }
        for (int s = 2; s <= layout.stages(); s++) taps.put(TapNames.inputs(s), taps.get(TapNames.features(s - 1)));
        return new TapValues(layout.network(), taps);
    }
}
