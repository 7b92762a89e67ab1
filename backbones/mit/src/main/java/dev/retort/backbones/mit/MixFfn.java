package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import dev.retort.backbones.mit.Layers.Conv;
import dev.retort.backbones.mit.Layers.Linear;
import dev.retort.nn.Ops;

/** Mix-FFN: Linear → depthwise 3×3 conv on the token map → exact GELU → Linear. */
final class MixFfn extends Block {
    private final Linear fc1, fc2;
    private final Conv dwconv;

    MixFfn(int dim, int hidden) {
        fc1 = child("fc1", Linear.encoder(dim, hidden));
        // the reference wraps the depthwise conv in a DWConv module, hence the doubled name
        dwconv = child("dwconv.dwconv", Conv.encoder(hidden, hidden, 3, 1, 1, hidden));
        fc2 = child("fc2", Linear.encoder(hidden, dim));
    }

    /** Tokens [B, h·w, C] of an h×w map. */
    NDArray forward(NDArray x, long h, long w) {
        NDArray map = dwconv.forward(Ops.tokensToMap(fc1.forward(x), h, w));
        return fc2.forward(Ops.gelu(Ops.mapToTokens(map)));
    }

    long macs(long tokens) {
        return fc1.macs(tokens) + dwconv.macs(tokens) + fc2.macs(tokens);
    }
}
