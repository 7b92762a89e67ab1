package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.backbones.mit.Layers.Conv;
import dev.retort.backbones.mit.Layers.LayerNorm;
import dev.retort.backbones.mit.Layers.Linear;
import dev.retort.nn.Ops;

/**
 * Efficient self-attention (spec §1.1): keys and values come from the token map reduced by an r×r conv of stride r
 * and a LayerNorm when the reduction ratio r is above 1. One {@code kv} linear holds the keys' rows, then the values'.
 */
final class EfficientAttention extends Block {
    private final int dim, heads, reduction;
    private final Linear q, kv, proj;
    private final Conv sr;
    private final LayerNorm norm;

    EfficientAttention(int dim, int heads, int reduction) {
        this.dim = dim;
        this.heads = heads;
        this.reduction = reduction;
        q = child("q", Linear.encoder(dim, dim));
        kv = child("kv", Linear.encoder(dim, 2 * dim));
        proj = child("proj", Linear.encoder(dim, dim));
        sr = reduction > 1 ? child("sr", Conv.encoder(dim, dim, reduction, reduction, 0, 1)) : null;
        norm = reduction > 1 ? child("norm", new LayerNorm(dim, PatchEmbed.NORM_EPS)) : null;
    }

    int reduction() {
        return reduction;
    }

    /** Tokens [B, h·w, C] of an h×w map. */
    NDArray forward(NDArray x, long h, long w) {
        Shape shape = x.getShape();
        long batch = shape.get(0), n = shape.get(1), c = shape.get(2), d = c / heads;
        NDArray queries = q.forward(x).reshape(batch, n, heads, d).transpose(0, 2, 1, 3);
        NDArray kvIn = sr == null ? x : norm.forward(Ops.mapToTokens(sr.forward(Ops.tokensToMap(x, h, w))));
        NDArray keysValues = kv.forward(kvIn).reshape(batch, -1, 2, heads, d).transpose(2, 0, 3, 1, 4);
        NDArray keys = keysValues.get(0), values = keysValues.get(1);
        NDArray mixed = Ops.attention(queries, keys, values);
        return proj.forward(mixed.transpose(0, 2, 1, 3).reshape(batch, n, c));
    }

    /** On an h×w token map; the attention products themselves are not counted (mmcv). */
    long macs(long h, long w) {
        long tokens = h * w, kvTokens = tokens;
        if (sr != null) {
            // A map smaller than r (forward rejects it) counts as one key/value token, as kd:model always counted it.
            kvTokens = Math.max(1, sr.outputSize(h)) * Math.max(1, sr.outputSize(w));
        }
        return q.macs(tokens) + (sr == null ? 0 : sr.macs(kvTokens) + norm.macs(kvTokens)) + kv.macs(kvTokens) + proj.macs(tokens);
    }

    /** The attention products on an h×w token map, which {@link #macs} leaves out: Q·Kᵀ and attention·V, each n·n_kv·C. */
    long attentionMacs(long h, long w) {
        long tokens = h * w, kvTokens = sr == null ? tokens : Math.max(1, sr.outputSize(h)) * Math.max(1, sr.outputSize(w));
        return 2 * tokens * kvTokens * dim;
    }
}
