package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import dev.retort.backbones.mit.Layers.LayerNorm;
import dev.retort.nn.ArrayScope;
import dev.retort.nn.Ops;

/** Pre-norm transformer block: x + DropPath(attention(norm1 x)), then x + DropPath(Mix-FFN(norm2 x)). */
final class TransformerBlock extends Block {
    static final float NORM_EPS = 1e-6f;  // blocks and stage norms

    private final LayerNorm norm1, norm2;
    private final EfficientAttention attn;
    private final MixFfn mlp;
    private final double dropPath;

    TransformerBlock(int dim, int heads, int reduction, int mlpRatio, double dropPath) {
        this.dropPath = dropPath;
        norm1 = child("norm1", new LayerNorm(dim, NORM_EPS));
        attn = child("attn", new EfficientAttention(dim, heads, reduction));
        norm2 = child("norm2", new LayerNorm(dim, NORM_EPS));
        mlp = child("mlp", new MixFfn(dim, dim * mlpRatio));
    }

    /** Tokens [B, h·w, C] of an h×w map; what the block computes on the way is released when it returns. */
    NDArray forward(NDArray x, long h, long w, boolean training) {
        try (ArrayScope scope = ArrayScope.over(x)) {
            NDArray t = x.add(Ops.dropPath(attn.forward(norm1.forward(x), h, w), dropPath, training));
            return scope.keep(t.add(Ops.dropPath(mlp.forward(norm2.forward(t), h, w), dropPath, training)));
        }
    }

    long macs(long h, long w) {
        long tokens = h * w;
        return norm1.macs(tokens) + attn.macs(h, w) + norm2.macs(tokens) + mlp.macs(tokens);
    }

    long attentionMacs(long h, long w) {
        return attn.attentionMacs(h, w);
    }
}
