package dev.retort.distill.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.tap.TapLayout;
import dev.retort.nn.ParameterSet;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Re-configuration decided once, from the declaration: {@link Structural} keys rebuild, the others apply in place. */
class ConfiguredModuleTest {
    @interface Config {
        @Structural("changes the taps")
        String stages() default "1,2";

        double weight() default 1.0;

        @Structural("changes the shapes")
        int width() default 8;

        @Structural(value = "changes the shapes", note = "an initial value")
        double scale() default 0.5;

        boolean logits() default false;

        @Structural("changes the head")
        int head() default 3;
    }

    /** {@code head} matters only with logits on. */
    record Options(int[] stages, double weight, int width, double scale, boolean logits, int head) {}

    static final class Probe extends ConfiguredDistiller<Options> {
        Probe() {
            super("probe", "dev.retort.test.module", Config.class);
        }

        @Override
        protected Options read(ConfigValues v) {
            return new Options(v.integers("stages"), v.real("weight"), v.integer("width", 1), v.real("scale"), v.bool("logits"), v.integer("head", 1));
        }

        @Override
        protected boolean uses(String runKey, Options options) {
            return !runKey.equals("head") || options.logits();
        }

        @Override
        protected void checkInPlace(Options current, Options next, DistillContext context) {
            if (next.weight() > 10) throw invalid("weight " + next.weight() + " is too large for this module");
        }

        @Override
        public String description() {
            return "probe";
        }

        @Override
        public DistillationModule build(DistillContext context) {
            return new Module(this, new ParameterSet(context.manager(), context.seed()), options(context));
        }
    }

    static final class Module extends ConfiguredModule<Options> {
        Module(Probe probe, ParameterSet params, Options options) {
            super(probe, params, options);
        }

        Options current() {
            return options();
        }

        @Override
        public List<LossTerm> forward(DistillStep step) {
            return List.of();
        }
    }

    @Test
    void changesOfKeysWithoutStructuralApplyInPlaceInTheRecordsOrder() {
        Module m = build(Map.of());
        Reconfiguration r = m.reconfigure(context(Map.of("logits", "true", "weight", "2")));
        assertTrue(r.inPlace());
        assertEquals("weight 1.0 -> 2.0, logits false -> true", r.changes());
        assertEquals(2.0, m.current().weight(), "applied");
        assertEquals("", m.reconfigure(context(Map.of("logits", "true", "weight", "2"))).changes(), "nothing changed");
        assertEquals("probe", m.name());
        assertTrue(m.parameters().isEmpty());
    }

    @Test
    void structuralChangesRebuildGroupedByWhatTheyChangeAndChangeNothing() {
        Module m = build(Map.of());
        Options before = m.current();
        Map<String, Object> next = new LinkedHashMap<>();
        next.put("scale", "1");
        next.put("width", "4");
        next.put("stages", "3");
        next.put("weight", "5");
        Reconfiguration r = m.reconfigure(context(next));
        assertFalse(r.inPlace());
        assertEquals("stages 1,2 -> 3 changes the taps; width 8 -> 4, scale 0.5 -> 1.0 (an initial value) changes the shapes", r.changes());
        assertSame(before, m.current(), "a rebuild applies nothing, not even the in-place keys");
        assertEquals("stages 1,2 -> (none) changes the taps", m.reconfigure(context(Map.of("stages", ""))).changes());
    }

    @Test
    void aKeyThatNeitherOptionsUseIsNotCompared() {
        Module m = build(Map.of());
        Reconfiguration unused = m.reconfigure(context(Map.of("head", "5")));
        assertTrue(unused.inPlace(), "head matters only with logits on");
        assertEquals("", unused.changes());
        Module withLogits = build(Map.of("logits", "true"));
        assertEquals("head 3 -> 5 changes the head", withLogits.reconfigure(context(Map.of("logits", "true", "head", "5"))).changes());
        assertEquals("head 3 -> 5 changes the head", withLogits.reconfigure(context(Map.of("head", "5"))).changes(),
                "used by the current options (logits on), so compared; the rebuild names the structural keys only");
    }

    @Test
    void aCheckOfTheInPlaceChangeThatFailsKeepsTheOptions() {
        Module m = build(Map.of());
        Options before = m.current();
        var e = assertThrows(IllegalArgumentException.class, () -> m.reconfigure(context(Map.of("weight", "11"))));
        assertEquals("probe: weight 11.0 is too large for this module", e.getMessage());
        assertSame(before, m.current());
    }

    /** Options must hold every key, else a change of the missing one would go unseen. */
    @interface Two {
        double weight() default 1.0;

        int width() default 8;
    }

    record OnlyWeight(double weight) {}

    static final class Incomplete extends ConfiguredDistiller<OnlyWeight> {
        Incomplete() {
            super("incomplete", "dev.retort.test.incomplete", Two.class);
        }

        @Override
        protected OnlyWeight read(ConfigValues v) {
            return new OnlyWeight(v.real("weight"));
        }

        @Override
        public String description() {
            return "incomplete";
        }

        @Override
        public DistillationModule build(DistillContext context) {
            throw new UnsupportedOperationException("not needed here");
        }
    }

    @Test
    void optionsWithoutAComponentForEveryKeyAreAProgrammingError() {
        Incomplete d = new Incomplete();
        var e = assertThrows(IllegalStateException.class, () -> d.changes(new OnlyWeight(1), new OnlyWeight(2)));
        assertTrue(e.getMessage().contains("has no component for the keys [width]"), e.getMessage());
    }

    /** A component may hold a key in the form the module uses, under another name, and report its change so. */
    record PerStage(@Setting(key = "weight", shown = "stage weight") double[] stageWeight, int width) {}

    static final class Derived extends ConfiguredDistiller<PerStage> {
        Derived() {
            super("derived", "dev.retort.test.derived", Two.class);
        }

        @Override
        protected PerStage read(ConfigValues v) {
            return new PerStage(new double[] {v.real("weight"), v.real("weight")}, v.integer("width"));
        }

        @Override
        public String description() {
            return "derived";
        }

        @Override
        public DistillationModule build(DistillContext context) {
            throw new UnsupportedOperationException("not needed here");
        }
    }

    @Test
    void aSettingNamesTheKeyAComponentStandsFor() {
        Derived d = new Derived();
        Reconfiguration r = d.changes(new PerStage(new double[] {1, 1}, 8), new PerStage(new double[] {2, 2}, 8));
        assertEquals("stage weight 1.0,1.0 -> 2.0,2.0", r.changes());
        assertTrue(r.inPlace());
    }

    private static Module build(Map<String, ?> run) {
        return (Module) new Probe().build(context(run));
    }

    private static final TapLayout NONE = new TapLayout("net", 0, List.of());
    /** A context needs a manager; reading options allocates nothing in it. */
    private static final NDManager MANAGER = DjlRuntime.startOffline(Path.of("target", "djl-cache")).newBaseManager();

    private static DistillContext context(Map<String, ?> run) {
        return new DistillContext(NONE, NONE, run, MANAGER, 0);
    }
}
