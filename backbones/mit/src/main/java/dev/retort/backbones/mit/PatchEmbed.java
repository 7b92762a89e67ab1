package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import dev.retort.backbones.mit.Layers.Conv;
import dev.retort.backbones.mit.Layers.LayerNorm;
import dev.retort.nn.ArrayScope;
import dev.retort.nn.Ops;

/** Overlapping patch embedding: a k×k conv of stride r and padding k/2, then LayerNorm over the tokens. */
final class PatchEmbed extends Block {
    static final float NORM_EPS = 1e-5f;  // nn.LayerNorm's default, as the reference leaves it here

    /** Tokens [B, h·w, C] of an h×w map. */
    record Tokens(NDArray tokens, long height, long width) {}

    private final Conv proj;
    private final LayerNorm norm;

    PatchEmbed(int in, int dim, int patch, int stride) {
        proj = child("proj", Conv.encoder(in, dim, patch, stride, patch / 2, 1));
        norm = child("norm", new LayerNorm(dim, NORM_EPS));
    }

    Tokens forward(NDArray map) {
        try (ArrayScope scope = ArrayScope.over(map)) {
            NDArray x = proj.forward(map);
            long h = x.getShape().get(2), w = x.getShape().get(3);
            return new Tokens(scope.keep(norm.forward(Ops.mapToTokens(x))), h, w);
        }
    }

    /** Map extent after the embedding. */
    long outputSize(long extent) {
        return proj.outputSize(extent);
    }

    /** Over an input of {@code height × width}. */
    long macs(long height, long width) {
        long tokens = outputSize(height) * outputSize(width);
        return proj.macs(tokens) + norm.macs(tokens);
    }
}
