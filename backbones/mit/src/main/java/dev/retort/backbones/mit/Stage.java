package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.backbones.mit.Layers.LayerNorm;
import dev.retort.nn.ArrayScope;
import dev.retort.nn.Ops;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One encoder stage: patch embedding, transformer blocks, LayerNorm. The reference names its parts at the top level
 * ({@code patch_embed2}, {@code block2.0}, {@code norm2}), so a stage is an unnamed grouping of them. It taps its
 * input map ({@code inputs.s}), its patch embeddings ({@code embeds.s}) and its output map ({@code features.s}).
 */
final class Stage extends Block {
    private final int number, inChannels, inStride, dim, stride, reduction;
    private final PatchEmbed embed;
    private final List<TransformerBlock> blocks = new ArrayList<>();
    private final LayerNorm norm;

    /**
     * @param index         0-based
     * @param inStride      cumulative stride of the stage's input
     * @param dropPathRates stochastic-depth rate of each of its blocks
     */
    Stage(MitConfig c, int index, int inChannels, int inStride, double[] dropPathRates) {
        this.number = index + 1;
        this.inChannels = inChannels;
        this.inStride = inStride;
        this.dim = c.embedDims()[index];
        this.stride = inStride * c.strides()[index];
        this.reduction = c.srRatios()[index];
        embed = child("patch_embed" + number, new PatchEmbed(inChannels, dim, c.patchSizes()[index], c.strides()[index]));
        for (int j = 0; j < c.depths()[index]; j++) {
            blocks.add(child("block" + number + "." + j,
                    new TransformerBlock(dim, c.heads()[index], reduction, c.mlpRatios()[index], dropPathRates[j])));
        }
        norm = child("norm" + number, new LayerNorm(dim, TransformerBlock.NORM_EPS));
    }

    /** Runs the stage on an NCHW map, recording its taps; returns its output map. */
    NDArray forward(NDArray x, Map<String, NDArray> taps, boolean training) {
        taps.put(TapNames.inputs(number), x);
        PatchEmbed.Tokens e = embed.forward(x);
        NDArray t = e.tokens();
        taps.put(TapNames.embeds(number), t);
        for (TransformerBlock b : blocks) {
            NDArray next = b.forward(t, e.height(), e.width(), training);
            if (t != e.tokens()) t.close();  // consumed (a graph keeps what its backward needs); the embeddings are a tap
            t = next;
        }
        NDArray features;
        try (ArrayScope scope = ArrayScope.over(t)) {
            features = scope.keep(Ops.tokensToMap(norm.forward(t), e.height(), e.width()));
        }
        if (t != e.tokens()) t.close();
        taps.put(TapNames.features(number), features);
        return features;
    }

    List<TapSpec> taps() {
        return List.of(new TapSpec(TapNames.inputs(number), inChannels, inStride, TapKind.MAP),
                new TapSpec(TapNames.embeds(number), dim, stride, TapKind.TOKENS),
                new TapSpec(TapNames.features(number), dim, stride, TapKind.MAP));
    }

    /** Shapes of the taps for a batch of 1 and an input map of {@code height × width}. */
    void tapShapes(long height, long width, Map<String, long[]> shapes) {
        long h = outputSize(height), w = outputSize(width);
        shapes.put(TapNames.inputs(number), new long[] {1, inChannels, height, width});
        shapes.put(TapNames.embeds(number), new long[] {1, h * w, dim});
        shapes.put(TapNames.features(number), new long[] {1, dim, h, w});
    }

    /** Extent of the output map for an input extent. */
    long outputSize(long extent) {
        return embed.outputSize(extent);
    }

    /** Over an input map of {@code height × width}. */
    long macs(long height, long width) {
        long h = outputSize(height), w = outputSize(width), macs = embed.macs(height, width) + norm.macs(h * w);
        for (TransformerBlock b : blocks) macs += b.macs(h, w);
        return macs;
    }

    /** The attention products of its blocks over an input map of {@code height × width} (not in {@link #macs}). */
    long attentionMacs(long height, long width) {
        long h = outputSize(height), w = outputSize(width), macs = 0;
        for (TransformerBlock b : blocks) macs += b.attentionMacs(h, w);
        return macs;
    }

    int dim() {
        return dim;
    }

    /** Cumulative stride of the output relative to the network's input. */
    int stride() {
        return stride;
    }

    /** The attention's reduction ratio of this stage's blocks. */
    int reduction() {
        return reduction;
    }
}
