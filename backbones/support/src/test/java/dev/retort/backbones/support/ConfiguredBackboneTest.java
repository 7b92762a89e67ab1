package dev.retort.backbones.support;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.backbone.NetworkSpec;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import java.lang.annotation.Annotation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The component skeleton with a one-layer family of its own: a 1×1 classifier over {@code width} input channels,
 * whose architecture, parameter count and cost are computed here by hand.
 */
class ConfiguredBackboneTest {
    record Tiny(String variant, int width, int classes, double dropPathRate, double headDropout) implements BackboneConfig {
        static final Map<String, Integer> PRESETS = presets();

        Tiny {
            if (classes <= 0) throw new IllegalArgumentException(variant + ": num_classes must be > 0");
        }

        static Tiny of(String variant, Map<String, ?> overrides) {
            Integer width = PRESETS.get(variant);
            if (width == null) throw new IllegalArgumentException("unknown variant '" + variant + "'");
            for (String k : overrides.keySet()) {
                if (!List.of("num_classes", "drop_path_rate", "head_dropout").contains(k)) {
                    throw new IllegalArgumentException(variant + ": unknown configuration key " + k);
                }
            }
            return new Tiny(variant, width, number(overrides, "num_classes", 20).intValue(),
                    number(overrides, "drop_path_rate", 0.1).doubleValue(), number(overrides, "head_dropout", 0.1).doubleValue());
        }

        private static Number number(Map<String, ?> m, String key, Number fallback) {
            Object v = m.get(key);
            return v == null ? fallback : v instanceof Number n ? n : Double.valueOf(v.toString());
        }

        private static Map<String, Integer> presets() {
            Map<String, Integer> m = new LinkedHashMap<>();
            m.put("tiny-s", 4);
            m.put("tiny-l", 8);
            return m;
        }

        @Override
        public Map<String, Object> asMap() {
            return Map.of("num_classes", classes, "drop_path_rate", dropPathRate, "head_dropout", headDropout);
        }
    }

    /** A 1×1 convolution width → classes with bias. */
    record TinyModel(Tiny c) implements DeclaredModel {
        @Override
        public TapLayout taps() {
            return new TapLayout(c.variant(), 0, List.of(new TapSpec(TapNames.LOGITS, c.classes(), 1, TapKind.MAP)));
        }

        @Override
        public long parameterCount() {
            return (long) c.width() * c.classes() + c.classes();
        }

        @Override
        public ModelCost cost(int height, int width) {
            long macs = (long) height * width * c.width() * c.classes();
            return new ModelCost(c.variant(), height, width, List.of(new ModelCost.Part("conv", parameterCount(), macs)),
                    Map.of(TapNames.LOGITS, new long[] {1, c.classes(), height, width}));
        }
    }

    /** The family's MetaType annotation as a bundle writes it. */
    @interface TinyMetaType {
        int classes() default 20;

        double dropPathRate() default 0.1;

        double headDropout() default 0.1;
    }

    @interface DriftedMetaType {
        int classes() default 19;

        double dropPathRate() default 0.1;

        double headDropout() default 0.1;
    }

    @interface IncompleteMetaType {
        int classes() default 20;
    }

    static class TinyBackbone extends ConfiguredBackbone<Tiny> {
        final List<Tiny> built = new ArrayList<>();

        TinyBackbone(Class<? extends Annotation> metaType) {
            super("tiny", Tiny.PRESETS.keySet(), Tiny::of, metaType);
        }

        @Override
        protected DeclaredModel declare(Tiny config) {
            return new TinyModel(config);
        }

        @Override
        protected SegmentationNetwork build(Tiny config, NDManager manager, long seed) {
            built.add(config);
            return null;
        }
    }

    static BackboneProperties properties(int classes, double dropPathRate, double headDropout) {
        return new BackboneProperties() {
            @Override
            public int classes() {
                return classes;
            }

            @Override
            public double dropPathRate() {
                return dropPathRate;
            }

            @Override
            public double headDropout() {
                return headDropout;
            }

            @Override
            public Class<? extends Annotation> annotationType() {
                return BackboneProperties.class;
            }
        };
    }

    @Test
    void nameAndVariantsAreTheFamilysInPresetOrder() {
        TinyBackbone b = new TinyBackbone(TinyMetaType.class);
        assertEquals("tiny", b.name());
        assertEquals(List.of("tiny-s", "tiny-l"), b.variants());
    }

    @Test
    void aRunsConfigurationOverridesTheConfiguredDefaultsKeyByKey() {
        TinyBackbone b = new TinyBackbone(TinyMetaType.class);
        assertEquals(new Tiny("tiny-l", 8, 20, 0.1, 0.1), b.config("tiny-l", null), "unconfigured: the preset");
        b.configure(properties(7, 0.2, 0.3));
        assertEquals(new Tiny("tiny-l", 8, 7, 0.2, 0.3), b.config("tiny-l", Map.of()));
        assertEquals(new Tiny("tiny-s", 4, 5, 0.2, 0.3), b.config("tiny-s", Map.of("num_classes", "5")));
    }

    @Test
    void aConfigurationThatMakesNoNetworkIsRefusedAndThePreviousDefaultsStay() {
        TinyBackbone b = new TinyBackbone(TinyMetaType.class);
        b.configure(properties(7, 0.2, 0.3));
        var e = assertThrows(IllegalArgumentException.class, () -> b.configure(properties(0, 0.0, 0.0)));
        assertEquals("tiny-s: num_classes must be > 0", e.getMessage(), "validated against the first variant");
        assertEquals(7, b.config("tiny-s", Map.of()).classes());
        var typo = assertThrows(IllegalArgumentException.class, () -> b.describe("tiny-s", Map.of("num_class", 3)));
        assertEquals("tiny-s: unknown configuration key num_class", typo.getMessage());
    }

    @Test
    void describeCostAndBuildUseTheMergedConfiguration() {
        TinyBackbone b = new TinyBackbone(TinyMetaType.class);
        b.configure(properties(3, 0.1, 0.1));
        NetworkSpec spec = b.describe("tiny-l", Map.of("head_dropout", 0.5));
        assertEquals("tiny-l", spec.variant());
        assertEquals(3, spec.classes());
        assertEquals(8 * 3 + 3, spec.parameters());
        assertEquals(Map.of("num_classes", 3, "drop_path_rate", 0.1, "head_dropout", 0.5), spec.config());
        assertEquals(List.of(TapNames.LOGITS), spec.taps().taps().stream().map(TapSpec::name).toList());
        ModelCost cost = b.cost("tiny-s", Map.of(), 2, 5);
        assertEquals(2L * 5 * 4 * 3, cost.parts().get(0).macs());
        b.build("tiny-s", Map.of("num_classes", 9), null, 1);
        assertEquals(List.of(new Tiny("tiny-s", 4, 9, 0.1, 0.1)), b.built);
    }

    @Test
    void aMetaTypeWhoseDefaultsDriftFromWhatTheComponentReadsIsRefused() {
        var drift = assertThrows(IllegalStateException.class, () -> new TinyBackbone(DriftedMetaType.class));
        assertTrue(drift.getMessage().contains("DriftedMetaType.classes defaults to 19, but the component reads 20"), drift.getMessage());
        var missing = assertThrows(IllegalStateException.class, () -> new TinyBackbone(IncompleteMetaType.class));
        assertTrue(missing.getMessage().contains("does not declare"), missing.getMessage());
    }

    @Test
    void dropPathRatesAreLinearFromZeroOverEveryBlock() {
        // 5 blocks: 0.1·i/4
        assertArrayEquals(new double[] {0, 0.025, 0.05, 0.075, 0.1}, Architecture.dropPathRates(0.1, new int[] {2, 1, 2}), 1e-15);
        assertArrayEquals(new double[] {0}, Architecture.dropPathRates(0.3, new int[] {1}), 0);
        assertArrayEquals(new double[0], Architecture.dropPathRates(0.3, new int[] {0, 0}), 0);
        assertEquals("32,64,160,256", Architecture.join(new int[] {32, 64, 160, 256}));
        assertEquals("", Architecture.join(new int[0]));
    }

    @Test
    void weightReportsListAtMost25NamesOfAKind() {
        assertEquals("", WeightReports.list("missing", List.of()));
        assertEquals("\n  2 missing:\n    a\n    b", WeightReports.list("missing", List.of("a", "b")));
        List<String> many = IntStream.range(0, 27).mapToObj(i -> "w" + i).toList();
        String text = WeightReports.list("unexpected", many);
        assertTrue(text.startsWith("\n  27 unexpected:\n    w0\n"), text);
        assertTrue(text.endsWith("\n    w24\n    … and 2 more"), text);
        assertEquals(25 + 1, text.split("\n    ", -1).length - 1, "25 names, then the rest counted");
    }
}
