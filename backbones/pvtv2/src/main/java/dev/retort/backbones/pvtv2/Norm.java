package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;

/** LayerNorm over the last axis (γ = 1, β = 0 at initialisation). */
record Norm(String prefix, int channels, float eps) implements Block {
    /** {@code nn.LayerNorm}'s default: the patch embeddings' and the attention's own norm. */
    static final float TORCH_EPS = 1e-5f;
    /** PVTv2's {@code norm_layer=partial(nn.LayerNorm, eps=1e-6)}: the blocks' and the stages' norms. */
    static final float BLOCK_EPS = 1e-6f;

    @Override
    public void declare(ParameterSet p) {
        p.add(name("weight"), new Shape(channels), Init.ones());
        p.add(name("bias"), new Shape(channels), Init.zeros());
    }

    NDArray forward(ParameterSet p, NDArray x) {
        return Ops.layerNorm(x, p, prefix, eps);
    }

    void cost(Tally t, long tokens) {
        t.norm(tokens * channels, channels);
    }
}
