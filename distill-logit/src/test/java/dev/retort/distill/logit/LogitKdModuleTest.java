package dev.retort.distill.logit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.RandomTaps;
import dev.retort.testing.EngineTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LogitKdModuleTest extends EngineTest {
    private static LogitKdDistiller distiller() {
        LogitKdDistiller d = new LogitKdDistiller();
        d.configure(Map.of("temperature", 2.0, "weight", 0.5));
        return d;
    }

    private static TapLayout layout(String net, int classes) {
        return new TapLayout(net, 0, List.of(new TapSpec("logits", classes, 4, TapKind.MAP)));
    }

    @Test
    void matchesTheKlDivergenceComputedByHand() {
        try (NDManager m = engine.newBaseManager()) {
            float[] t = {1f, 2f, 0.5f, -1f};     // B=1, C=2, H=1, W=2: pixel 0 = (1, 0.5), pixel 1 = (2, -1)
            float[] s = {0f, 1f, 0f, 1f};
            NDArray teacher = m.create(t, new Shape(1, 2, 1, 2));
            NDArray student = m.create(s, new Shape(1, 2, 1, 2));
            var module = distiller().build(new DistillContext(layout("t", 2), layout("s", 2), Map.of(), m, 0));
            List<LossTerm> terms = module.forward(new DistillStep(new TapValues("t", Map.of("logits", teacher)),
                    new TapValues("s", Map.of("logits", student)), true, m, PortRefiner.NONE));

            double expected = 0;
            for (int px = 0; px < 2; px++) {
                double[] pt = softmax(t[px] / 2.0, t[2 + px] / 2.0);
                double[] ps = softmax(s[px] / 2.0, s[2 + px] / 2.0);
                for (int c = 0; c < 2; c++) expected += pt[c] * Math.log(pt[c] / ps[c]);
            }
            expected = expected / 2 * 4;  // mean over 2 pixels, times T^2
            assertEquals(1, terms.size());
            assertEquals(0.5, terms.get(0).weight());
            assertEquals(expected, terms.get(0).value().getFloat(), 1e-6);
            assertTrue(expected > 0.01);
        }
    }

    @Test
    void rejectsMismatchedClassCountsNamingBothSides() {
        try (NDManager m = engine.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class, () -> distiller()
                    .build(new DistillContext(layout("mit-b2", 20), layout("mit-b0", 19), Map.of(), m, 0)));
            assertTrue(e.getMessage().contains("mit-b2") && e.getMessage().contains("mit-b0"), e.getMessage());
        }
    }

    @Test
    void rejectsANonPositiveTemperatureFromTheRunConfiguration() {
        try (NDManager m = engine.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class, () -> distiller()
                    .build(new DistillContext(layout("t", 2), layout("s", 2), Map.of("temperature", "0"), m, 0)));
            assertTrue(e.getMessage().contains("temperature"), e.getMessage());
        }
    }

    @Test
    void aBadConfigAdminValueIsReportedAndRefusesToBuildInsteadOfFallingBackToDefaults() {
        LogitKdDistiller d = distiller();
        assertTrue(d.rejection().isEmpty());
        d.configure(Map.of("temperature", "abc", "service.pid", "dev.retort.distill.logit"));
        assertEquals("dev.retort.distill.logit: temperature must be a number, got 'abc'", d.rejection().orElseThrow());
        try (NDManager m = engine.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> d.build(new DistillContext(layout("t", 2), layout("s", 2), Map.of(), m, 0)));
            assertTrue(e.getMessage().startsWith("logit-kd: configuration rejected: "), e.getMessage());
        }
        d.configure(Map.of("temprature", "3"));
        assertTrue(d.rejection().orElseThrow().contains("unknown key 'temprature' (did you mean temperature?)"), d.rejection().orElseThrow());
        d.configure(Map.of("temperature", "3"));
        assertTrue(d.rejection().isEmpty());
        assertTrue(d.description().contains("T=3.0"), d.description());
        assertTrue(d.enabled());
        d.configure(Map.of("enabled", "false"));
        assertFalse(d.enabled(), "a profile switches the embedded baseline off");
    }

    @Test
    void aMisspeltRunKeyIsAnErrorWithTheClosestKnownKey() {
        var e = assertThrows(IllegalArgumentException.class, () -> distiller().validate(Map.of("wieght", "2")));
        assertEquals("logit-kd: unknown key 'module.logit-kd.wieght' (did you mean module.logit-kd.weight?);"
                + " known keys: module.logit-kd.temperature, module.logit-kd.weight", e.getMessage());
        var nan = assertThrows(IllegalArgumentException.class, () -> distiller().validate(Map.of("weight", "NaN")));
        assertEquals("logit-kd: weight must be a finite number, got 'NaN'", nan.getMessage());
    }

    @Test
    void aStepOnRandomLogitsGivesTheStudentAGradientAndBothKeysApplyInPlace() {
        try (NDManager m = engine.newBaseManager()) {
            TapLayout teacherLayout = RandomTaps.mit("t", 5, 8, 16), studentLayout = RandomTaps.mit("s", 5, 4, 8);
            TapValues teacher = RandomTaps.values(teacherLayout, m, 2, 16, 16), student = RandomTaps.values(studentLayout, m, 2, 16, 16);
            NDArray logits = student.get("logits");
            logits.setRequiresGradient(true);
            DistillationModule module = distiller().build(new DistillContext(teacherLayout, studentLayout, Map.of(), m, 0));
            try (GradientCollector c = engine.newGradientCollector()) {
                c.backward(module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE)).get(0).value());
            }
            double norm = 0;
            for (float g : logits.getGradient().toFloatArray()) {
                assertTrue(Float.isFinite(g));
                norm += Math.abs(g);
            }
            assertTrue(norm > 0, "zero gradient");
            Reconfiguration r = module.reconfigure(new DistillContext(teacherLayout, studentLayout, Map.of("temperature", "4", "weight", "0"), m, 0));
            assertTrue(r.inPlace());
            assertEquals("temperature 2.0 -> 4.0, weight 0.5 -> 0.0", r.changes());
        }
    }

    private static double[] softmax(double a, double b) {
        double ea = Math.exp(a), eb = Math.exp(b);
        return new double[] {ea / (ea + eb), eb / (ea + eb)};
    }
}
