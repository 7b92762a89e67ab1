package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import dev.retort.api.tap.TapNames;
import dev.retort.nn.ArrayScope;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.List;
import java.util.Map;

/**
 * Encoder stage {@code number} (1-based): {@code backbone.patch_embed<n>}, the blocks {@code backbone.block<n>.<j>} and
 * the stage norm {@code backbone.norm<n>} (eps 1e-6). Its taps: {@code inputs.n}, {@code embeds.n} (tokens right after
 * the patch embedding's LayerNorm) and {@code features.n} (the normed tokens as a map).
 */
record EncoderStage(String prefix, int number, PatchEmbed patchEmbed, List<EncoderBlock> blocks, Norm norm) implements Block {
    EncoderStage {
        blocks = List.copyOf(blocks);
    }

    @Override
    public void declare(ParameterSet p) {
        patchEmbed.declare(p);
        blocks.forEach(b -> b.declare(p));
        norm.declare(p);
    }

    int channels() {
        return norm.channels();
    }

    NDArray forward(ParameterSet p, NDArray x, boolean training, Map<String, NDArray> taps) {
        taps.put(TapNames.inputs(number), x);
        PatchEmbed.Tokens embedded = patchEmbed.forward(p, x);
        NDArray t = embedded.tokens();
        taps.put(TapNames.embeds(number), t);
        long h = embedded.height(), w = embedded.width();
        for (EncoderBlock b : blocks) {
            NDArray next = b.forward(p, t, h, w, training);
            if (t != embedded.tokens()) t.close();  // consumed (a graph keeps what its backward needs); the embeddings are a tap
            t = next;
        }
        NDArray map;
        try (ArrayScope scope = ArrayScope.over(t)) {
            map = scope.keep(Ops.tokensToMap(norm.forward(p, t), h, w));
        }
        if (t != embedded.tokens()) t.close();
        taps.put(TapNames.features(number), map);
        return map;
    }

    /** Cost for an output map of {@code h × w}. */
    void cost(Tally t, long h, long w) {
        patchEmbed.cost(t, h, w);
        for (EncoderBlock b : blocks) b.cost(t, h, w);
        norm.cost(t, h * w);
    }
}
