package dev.retort.backbones.pvtv2;

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
 * Architecture of a PVTv2 network with the Semantic FPN decoder, as TransKD's {@code build_pvts} builds it: presets
 * {@code pvtv2-b0} … {@code pvtv2-b5} and {@code pvtv2-b2-li} (linear spatial-reduction attention). Any field of
 * {@link #KEYS} can be overridden to build tiny networks. The patch embeddings are fixed as in PVTv2 (7×7 stride 4,
 * then 3×3 stride 2), so each stage halves the previous one and the head's scale heads follow from the stage index.
 */
record PvtConfig(String variant, int inChannels, int[] embedDims, int[] depths, int[] heads, int[] srRatios, int[] mlpRatios,
                 boolean linear, int neckChannels, int headChannels, int classes, double dropPathRate, double headDropout)
        implements BackboneConfig {

    static final Set<String> KEYS = new TreeSet<>(List.of("in_channels", "embed_dims", "depths", "num_heads", "sr_ratios",
            "mlp_ratios", "linear", "neck_channels", "head_channels", "num_classes", "drop_path_rate", "head_dropout"));

    /** Output side of the linear attention's adaptive average pooling (PVTv2-Li). */
    static final int LINEAR_POOL = 7;

    static final Map<String, PvtConfig> PRESETS = presets();

    PvtConfig {
        int n = embedDims.length;
        if (n == 0) throw new RetortConfigException(variant + ": embed_dims is empty");
        for (int[] a : List.of(depths, heads, srRatios, mlpRatios)) {
            if (a.length != n) {
                throw new RetortConfigException(variant + ": embed_dims, depths, num_heads, sr_ratios and mlp_ratios need one value"
                        + " per stage (" + n + "), got " + Arrays.stream(new int[][] {embedDims, depths, heads, srRatios, mlpRatios})
                        .map(Arrays::toString).collect(Collectors.joining(" ")));
            }
        }
        for (int s = 0; s < n; s++) {
            if (embedDims[s] <= 0 || depths[s] < 0 || heads[s] <= 0 || srRatios[s] <= 0 || mlpRatios[s] <= 0) {
                throw new RetortConfigException(variant + ": stage " + (s + 1) + " has a non-positive size");
            }
            if (embedDims[s] % heads[s] != 0) {
                throw new RetortConfigException(variant + ": stage " + (s + 1) + " embed dim " + embedDims[s]
                        + " is not divisible by its " + heads[s] + " heads");
            }
        }
        if (inChannels <= 0 || neckChannels <= 0 || headChannels <= 0 || classes <= 0) {
            throw new RetortConfigException(variant + ": in_channels, neck_channels, head_channels and num_classes must be > 0");
        }
        if (dropPathRate < 0 || dropPathRate >= 1 || headDropout < 0 || headDropout >= 1) {
            throw new RetortConfigException(variant + ": drop_path_rate and head_dropout must be in [0, 1)");
        }
        embedDims = embedDims.clone();
        depths = depths.clone();
        heads = heads.clone();
        srRatios = srRatios.clone();
        mlpRatios = mlpRatios.clone();
    }

    private static Map<String, PvtConfig> presets() {
        int[] small = {32, 64, 160, 256}, large = {64, 128, 320, 512}, mlp = {8, 8, 4, 4};
        Map<String, PvtConfig> m = new LinkedHashMap<>();
        m.put("pvtv2-b0", preset("pvtv2-b0", small, new int[] {2, 2, 2, 2}, mlp, false));
        m.put("pvtv2-b1", preset("pvtv2-b1", large, new int[] {2, 2, 2, 2}, mlp, false));
        m.put("pvtv2-b2", preset("pvtv2-b2", large, new int[] {3, 4, 6, 3}, mlp, false));
        m.put("pvtv2-b2-li", preset("pvtv2-b2-li", large, new int[] {3, 4, 6, 3}, mlp, true));
        m.put("pvtv2-b3", preset("pvtv2-b3", large, new int[] {3, 4, 18, 3}, mlp, false));
        m.put("pvtv2-b4", preset("pvtv2-b4", large, new int[] {3, 8, 27, 3}, mlp, false));
        m.put("pvtv2-b5", preset("pvtv2-b5", large, new int[] {3, 6, 40, 3}, new int[] {4, 4, 4, 4}, false));
        return m;
    }

    private static PvtConfig preset(String name, int[] dims, int[] depths, int[] mlp, boolean linear) {
        return new PvtConfig(name, 3, dims, depths, new int[] {1, 2, 5, 8}, new int[] {8, 4, 2, 1}, mlp, linear, 256, 128, 20, 0.1, 0.1);
    }

    /** The preset with the given overrides; unknown keys are rejected (with a suggestion) so that a typo never goes unnoticed. */
    static PvtConfig of(String variant, Map<String, ?> overrides) {
        PvtConfig base = PRESETS.get(variant);
        if (base == null) {
            throw new RetortConfigException("unknown variant '" + variant + "' (known: " + String.join(", ", PRESETS.keySet()) + ")");
        }
        if (overrides == null || overrides.isEmpty()) return base;
        Settings s = new Settings(variant, overrides);
        s.requireKnown("", KEYS);
        return new PvtConfig(variant,
                s.integer("in_channels", base.inChannels),
                s.integers("embed_dims", base.embedDims),
                s.integers("depths", base.depths),
                s.integers("num_heads", base.heads),
                s.integers("sr_ratios", base.srRatios),
                s.integers("mlp_ratios", base.mlpRatios),
                s.bool("linear", base.linear),
                s.integer("neck_channels", base.neckChannels),
                s.integer("head_channels", base.headChannels),
                s.integer("num_classes", base.classes),
                s.real("drop_path_rate", base.dropPathRate),
                s.real("head_dropout", base.headDropout));
    }

    int stages() {
        return embedDims.length;
    }

    /** Patch-embedding kernel of stage {@code s} (0-based): 7 for the first, 3 after. */
    int patchSize(int s) {
        return s == 0 ? 7 : 3;
    }

    /** Patch-embedding stride of stage {@code s} (0-based): 4 for the first, 2 after. */
    int stride(int s) {
        return s == 0 ? 4 : 2;
    }

    /** Cumulative stride of stage {@code s} (0-based) relative to the input. */
    int cumulativeStride(int s) {
        int r = 1;
        for (int i = 0; i <= s; i++) r *= stride(i);
        return r;
    }

    /** Spatial size after stage {@code s} (0-based) for an input extent: out = floor((in + 2·(k/2) − k) / r) + 1. */
    long extent(int s, long input) {
        long n = input;
        for (int i = 0; i <= s; i++) n = Math.floorDiv(n + 2L * (patchSize(i) / 2) - patchSize(i), stride(i)) + 1;
        return n;
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
        m.put("linear", linear);
        m.put("neck_channels", neckChannels);
        m.put("head_channels", headChannels);
        m.put("num_classes", classes);
        m.put("drop_path_rate", dropPathRate);
        m.put("head_dropout", headDropout);
        return m;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PvtConfig c && asMap().equals(c.asMap()) && variant.equals(c.variant);
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
