package dev.retort.backbones.mit;

import static dev.retort.backbones.support.Architecture.join;

import dev.retort.api.error.RetortConfigException;
import dev.retort.backbones.support.Architecture;
import dev.retort.backbones.support.BackboneConfig;
import dev.retort.nn.Settings;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Architecture of a SegFormer network: MiT encoder + all-MLP decode head (spec §1.1–1.3). Presets {@code mit-b0}
 * … {@code mit-b5}; any field can be overridden by configuration (keys of {@link #KEYS}) to build tiny networks.
 */
record MitConfig(String variant, int inChannels, int[] embedDims, int[] depths, int[] heads, int[] srRatios,
                 int[] mlpRatios, int[] patchSizes, int[] strides, int decoderDim, int classes, double dropPathRate,
                 double headDropout) implements BackboneConfig {

    static final Set<String> KEYS = new TreeSet<>(List.of("in_channels", "embed_dims", "depths", "num_heads", "sr_ratios",
            "mlp_ratios", "patch_sizes", "strides", "decoder_dim", "num_classes", "drop_path_rate", "head_dropout"));

    static final Map<String, MitConfig> PRESETS = presets();

    MitConfig {
        int n = embedDims.length;
        if (n == 0) throw new RetortConfigException(variant + ": embed_dims is empty");
        for (int[] a : List.of(depths, heads, srRatios, mlpRatios, patchSizes, strides)) {
            if (a.length != n) {
                throw new RetortConfigException(variant + ": embed_dims, depths, num_heads, sr_ratios, mlp_ratios, patch_sizes"
                        + " and strides need one value per stage (" + n + "), got " + describe(embedDims, depths, heads, srRatios,
                        mlpRatios, patchSizes, strides));
            }
        }
        for (int s = 0; s < n; s++) {
            if (embedDims[s] <= 0 || depths[s] < 0 || heads[s] <= 0 || srRatios[s] <= 0 || mlpRatios[s] <= 0
                    || patchSizes[s] <= 0 || strides[s] <= 0) {
                throw new RetortConfigException(variant + ": stage " + (s + 1) + " has a non-positive size");
            }
            if (embedDims[s] % heads[s] != 0) {
                throw new RetortConfigException(variant + ": stage " + (s + 1) + " embed dim " + embedDims[s]
                        + " is not divisible by its " + heads[s] + " heads");
            }
        }
        if (inChannels <= 0 || decoderDim <= 0 || classes <= 0) {
            throw new RetortConfigException(variant + ": in_channels, decoder_dim and num_classes must be > 0");
        }
        if (dropPathRate < 0 || dropPathRate >= 1 || headDropout < 0 || headDropout >= 1) {
            throw new RetortConfigException(variant + ": drop_path_rate and head_dropout must be in [0, 1)");
        }
        embedDims = embedDims.clone();
        depths = depths.clone();
        heads = heads.clone();
        srRatios = srRatios.clone();
        mlpRatios = mlpRatios.clone();
        patchSizes = patchSizes.clone();
        strides = strides.clone();
    }

    private static Map<String, MitConfig> presets() {
        int[] small = {32, 64, 160, 256}, large = {64, 128, 320, 512};
        Map<String, MitConfig> m = new LinkedHashMap<>();
        m.put("mit-b0", preset("mit-b0", small, new int[] {2, 2, 2, 2}, 256));
        m.put("mit-b1", preset("mit-b1", large, new int[] {2, 2, 2, 2}, 256));
        m.put("mit-b2", preset("mit-b2", large, new int[] {3, 4, 6, 3}, 768));
        m.put("mit-b3", preset("mit-b3", large, new int[] {3, 4, 18, 3}, 768));
        m.put("mit-b4", preset("mit-b4", large, new int[] {3, 8, 27, 3}, 768));
        m.put("mit-b5", preset("mit-b5", large, new int[] {3, 6, 40, 3}, 768));
        return m;
    }

    private static MitConfig preset(String name, int[] dims, int[] depths, int decoder) {
        return new MitConfig(name, 3, dims, depths, new int[] {1, 2, 5, 8}, new int[] {8, 4, 2, 1}, new int[] {4, 4, 4, 4},
                new int[] {7, 3, 3, 3}, new int[] {4, 2, 2, 2}, decoder, 20, 0.1, 0.1);
    }

    /**
     * The preset with the given overrides, read by {@link Settings} as every Retort setting is ({@code 1.7} for an
     * integer is an error, never truncated); unknown keys are rejected with a suggestion so that a typo never goes
     * unnoticed.
     */
    static MitConfig of(String variant, Map<String, ?> overrides) {
        MitConfig base = PRESETS.get(variant);
        if (base == null) {
            throw new RetortConfigException("unknown variant '" + variant + "' (known: " + String.join(", ", PRESETS.keySet()) + ")");
        }
        if (overrides == null || overrides.isEmpty()) return base;
        Settings s = new Settings(variant, overrides);
        s.requireKnown("", KEYS);
        return new MitConfig(variant,
                s.integer("in_channels", base.inChannels),
                s.integers("embed_dims", base.embedDims),
                s.integers("depths", base.depths),
                s.integers("num_heads", base.heads),
                s.integers("sr_ratios", base.srRatios),
                s.integers("mlp_ratios", base.mlpRatios),
                s.integers("patch_sizes", base.patchSizes),
                s.integers("strides", base.strides),
                s.integer("decoder_dim", base.decoderDim),
                s.integer("num_classes", base.classes),
                s.real("drop_path_rate", base.dropPathRate),
                s.real("head_dropout", base.headDropout));
    }

    int stages() {
        return embedDims.length;
    }

    int totalBlocks() {
        return Arrays.stream(depths).sum();
    }

    /** Stochastic-depth rate of every block, linearly spaced from 0 to drop_path_rate over the whole encoder. */
    double[] dropPathRates() {
        return Architecture.dropPathRates(dropPathRate, depths);
    }

    @Override
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("in_channels", inChannels);
        m.put("embed_dims", join(embedDims));
        m.put("depths", join(depths));
        m.put("num_heads", join(heads));
        m.put("sr_ratios", join(srRatios));
        m.put("mlp_ratios", join(mlpRatios));
        m.put("patch_sizes", join(patchSizes));
        m.put("strides", join(strides));
        m.put("decoder_dim", decoderDim);
        m.put("num_classes", classes);
        m.put("drop_path_rate", dropPathRate);
        m.put("head_dropout", headDropout);
        return m;
    }

    private static String describe(int[]... arrays) {
        return Arrays.stream(arrays).map(Arrays::toString).collect(Collectors.joining(" "));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MitConfig c && asMap().equals(c.asMap()) && variant.equals(c.variant);
    }

    @Override
    public int hashCode() {
        return asMap().hashCode();
    }

    @Override
    public String toString() {
        return variant + asMap();
    }
}
