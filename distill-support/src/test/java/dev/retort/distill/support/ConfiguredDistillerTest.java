package dev.retort.distill.support;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.tap.TapLayout;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The configuration rules every distiller built on {@link ConfiguredDistiller} follows, on a distiller of this test. */
class ConfiguredDistillerTest {
    /** The test distiller's MetaType annotation: each default is stated here and nowhere else. */
    @interface Config {
        double weight() default 1.0;

        int midChannels() default 64;

        String stages() default "1,2";

        boolean enabled() default true;
    }

    record Options(double weight, int midChannels, int[] stages) {}

    static final class Probe extends ConfiguredDistiller<Options> {
        Probe() {
            super("probe", "dev.retort.test.probe", Config.class);
        }

        @Override
        protected Options read(ConfigValues v) {
            int[] stages = v.integers("stages");
            if (stages.length == 0) throw v.invalid("no stages");
            return new Options(v.real("weight", 0, Double.MAX_VALUE), v.integer("mid_channels", 1), stages);
        }

        @Override
        public String description() {
            Options o = configured();
            return "probe (weight " + o.weight() + ", stages " + configuredValue("stages") + ")";
        }

        @Override
        public DistillationModule build(DistillContext context) {
            throw new UnsupportedOperationException("not needed here");
        }
    }

    /** A distiller whose annotation has no enabled switch. */
    @interface Always {
        double temperature() default 2.0;
    }

    static final class Unswitchable extends ConfiguredDistiller<Double> {
        Unswitchable() {
            super("always", "dev.retort.test.always", Always.class);
        }

        @Override
        protected Double read(ConfigValues v) {
            return v.positive("temperature");
        }

        @Override
        public String description() {
            return "always";
        }

        @Override
        public DistillationModule build(DistillContext context) {
            throw new UnsupportedOperationException();
        }
    }

    private static final TapLayout NONE = new TapLayout("net", 0, List.of());

    @Test
    void theSchemaComesFromTheAnnotation() {
        ConfigurationSchema s = new Probe().schema();
        assertEquals(Set.of("weight", "mid_channels", "stages"), s.runKeys());
        assertEquals(Set.of("weight", "midChannels", "stages", "enabled"), s.adminKeys());
        assertEquals(Map.of("weight", 1.0, "mid_channels", 64, "stages", "1,2"), s.defaults());
        assertEquals("midChannels", s.adminKey("mid_channels"));
        assertTrue(s.switchable() && s.enabledByDefault());
        assertEquals("mid_channels_per_head", ConfigurationSchema.snakeCase("midChannelsPerHead"));
    }

    @Test
    void beforeAnyConfigurationTheAnnotationsDefaultsAreInForce() {
        Probe p = new Probe();
        Options o = p.options(context(Map.of()));
        assertEquals(1.0, o.weight());
        assertEquals(64, o.midChannels());
        assertArrayEquals(new int[] {1, 2}, o.stages());
        assertTrue(p.enabled() && p.rejection().isEmpty());
        assertEquals("probe", p.name());
        assertEquals("probe (weight 1.0, stages 1,2)", p.description());
    }

    @Test
    void aConfigAdminConfigurationIsReadByItsCamelCaseKeysAndARunOverridesItInSnakeCase() {
        Probe p = new Probe();
        p.configure(Map.of("midChannels", "32", "stages", "2, 3", "service.pid", "dev.retort.test.probe", "retort.distiller", "probe"));
        assertTrue(p.rejection().isEmpty(), p.rejection().toString());
        assertEquals(32, p.options(context(Map.of())).midChannels());
        assertEquals("probe (weight 1.0, stages 2, 3)", p.description());  // lists as the user wrote them
        Options run = p.options(context(Map.of("mid_channels", "16", "weight", 0.5)));
        assertEquals(16, run.midChannels());
        assertEquals(0.5, run.weight());
        assertArrayEquals(new int[] {2, 3}, run.stages());
        p.configure(Map.of("enabled", "false"));
        assertFalse(p.enabled());
        assertEquals(64, p.options(context(Map.of())).midChannels(), "a new configuration replaces the former one whole");
    }

    @Test
    void aBadConfigAdminValueIsReportedAndTheLastAcceptedValuesStay() {
        Probe p = new Probe();
        p.configure(Map.of("midChannels", 32));
        p.configure(Map.of("midChannels", "abc"));
        assertEquals("dev.retort.test.probe: midChannels must be an integer, got 'abc'", p.rejection().orElseThrow());
        assertEquals("probe (weight 1.0, stages 1,2)", p.description());
        var refused = assertThrows(IllegalArgumentException.class, () -> p.validate(Map.of()));
        assertEquals("probe: configuration rejected: dev.retort.test.probe: midChannels must be an integer, got 'abc'", refused.getMessage());
        p.configure(Map.of("midChanels", 3));
        assertTrue(p.rejection().orElseThrow().startsWith("dev.retort.test.probe: unknown key 'midChanels' (did you mean midChannels?)"),
                p.rejection().orElseThrow());
        p.configure(Map.of("weight", "-1"));
        assertEquals("dev.retort.test.probe: weight must be a number >= 0.0, got '-1'", p.rejection().orElseThrow());
        p.configure(Map.of("stages", ""));
        assertEquals("dev.retort.test.probe: no stages", p.rejection().orElseThrow());
        p.configure(Map.of("enabled", "maybe"));
        assertEquals("dev.retort.test.probe: enabled must be true or false, got 'maybe'", p.rejection().orElseThrow());
        p.configure(Map.of("midChannels", 8));
        assertTrue(p.rejection().isEmpty());
        assertEquals(8, p.options(context(Map.of())).midChannels());
    }

    @Test
    void aRunsSectionIsCheckedWithTheClosestKnownKeyAndTheRunKeysValues() {
        Probe p = new Probe();
        var typo = assertThrows(IllegalArgumentException.class, () -> p.validate(Map.of("mid_chanels", "3")));
        assertEquals("probe: unknown key 'module.probe.mid_chanels' (did you mean module.probe.mid_channels?);"
                + " known keys: module.probe.mid_channels, module.probe.stages, module.probe.weight", typo.getMessage());
        var camel = assertThrows(IllegalArgumentException.class, () -> p.validate(Map.of("enabled", "true")));
        assertTrue(camel.getMessage().startsWith("probe: unknown key 'module.probe.enabled'"), camel.getMessage());
        var bad = assertThrows(IllegalArgumentException.class, () -> p.validate(Map.of("mid_channels", "0")));
        assertEquals("probe: mid_channels must be an integer >= 1, got '0'", bad.getMessage());
        p.validate(Map.of("mid_channels", "2", "stages", "4"));
    }

    @Test
    void withoutAnEnabledAttributeTheDistillerIsAlwaysOnAndEnabledIsAnUnknownKey() {
        Unswitchable u = new Unswitchable();
        assertEquals(Set.of("temperature"), u.schema().adminKeys());
        assertTrue(u.enabled());
        u.configure(Map.of("enabled", "false"));
        assertTrue(u.rejection().orElseThrow().contains("unknown key 'enabled'"), u.rejection().orElseThrow());
        assertTrue(u.enabled());
        u.configure(Map.of("temperature", "0"));
        assertEquals("dev.retort.test.always: temperature must be a number > 0, got '0'", u.rejection().orElseThrow());
    }

    @interface NoDefault {
        int heads();
    }

    @interface Underscore {
        int mid_channels() default 1;
    }

    @interface ListAttribute {
        int[] stages() default {1};
    }

    @Test
    void anAnnotationTheSchemaCannotReadIsAProgrammingErrorNamingTheAttribute() {
        assertEquals("NoDefault.heads() has no default: state each default in the annotation",
                assertThrows(IllegalArgumentException.class, () -> ConfigurationSchema.of(NoDefault.class)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ConfigurationSchema.of(Underscore.class)).getMessage()
                .startsWith("Underscore.mid_channels(): DS would map"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ConfigurationSchema.of(ListAttribute.class)).getMessage()
                .contains("supported: boolean, int, long, double, String"));
    }

    private static DistillContext context(Map<String, ?> run) {
        return new DistillContext(NONE, NONE, run, MANAGER, 0);
    }

    /** A context needs a manager; reading options allocates nothing in it. */
    private static final NDManager MANAGER = DjlRuntime.startOffline(Path.of("target", "djl-cache")).newBaseManager();
}
