package dev.retort.backbones.support;

import dev.retort.api.error.RetortConfigException;
import dev.retort.nn.Settings;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.stream.Collectors;

/** What architecture records share. */
public final class Architecture {
    private Architecture() {}

    /**
     * The preset {@code variant} of a family, with {@code overrides} (a network's configuration) read over it through
     * {@link Settings}, as every Retort setting is ({@code 1.7} for an integer is an error, never truncated): an
     * unknown variant, and a key not in {@code keys}, are errors with the known names, so a typo never goes unnoticed.
     *
     * @param over reads the overrides over the preset's fields ({@code s.integer("depths", base.depths())}, …)
     */
    public static <C> C preset(String variant, Map<String, ?> overrides, Map<String, C> presets, Set<String> keys, BiFunction<Settings, C, C> over) {
        C base = presets.get(variant);
        if (base == null) {
            throw new RetortConfigException("unknown variant '" + variant + "' (known: " + String.join(", ", presets.keySet()) + ")");
        }
        if (overrides == null || overrides.isEmpty()) return base;
        Settings s = new Settings(variant, overrides);
        s.requireKnown("", keys);
        return over.apply(s, base);
    }

    /** A list as configuration text: {@code "32,64,160,256"} (the form the list keys read back). */
    public static String join(int[] values) {
        return Arrays.stream(values).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    /** Stochastic-depth rate of every block, linearly spaced from 0 to {@code rate} over all {@code depths} blocks. */
    public static double[] dropPathRates(double rate, int[] depths) {
        int n = Arrays.stream(depths).sum();
        double[] r = new double[n];
        for (int i = 0; i < n; i++) r[i] = n == 1 ? 0 : rate * i / (n - 1);
        return r;
    }
}
