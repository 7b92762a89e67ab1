package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import dev.retort.nn.ArrayScope;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;

/** A transformer block: x + DropPath(Attention(LN(x))), then x + DropPath(MixFFN(LN(x))); pre-norm, LayerNorm eps 1e-6. */
record EncoderBlock(String prefix, Norm norm1, Attention attn, Norm norm2, MixFfn mlp, double dropPath) implements Block {
    EncoderBlock(String prefix, int dim, int heads, int srRatio, int hidden, boolean linear, double dropPath) {
        this(prefix, new Norm(prefix + ".norm1", dim, Norm.BLOCK_EPS), new Attention(prefix + ".attn", dim, heads, srRatio, linear),
                new Norm(prefix + ".norm2", dim, Norm.BLOCK_EPS), new MixFfn(prefix + ".mlp", dim, hidden, linear), dropPath);
    }

    @Override
    public void declare(ParameterSet p) {
        norm1.declare(p);
        attn.declare(p);
        norm2.declare(p);
        mlp.declare(p);
    }

    /** What the block computes on the way is released when it returns (a graph keeps what its backward needs). */
    NDArray forward(ParameterSet p, NDArray x, long h, long w, boolean training) {
        try (ArrayScope scope = ArrayScope.over(x)) {
            NDArray t = x.add(Ops.dropPath(attn.forward(p, norm1.forward(p, x), h, w), dropPath, training));
            return scope.keep(t.add(Ops.dropPath(mlp.forward(p, norm2.forward(p, t), h, w), dropPath, training)));
        }
    }

    void cost(Tally t, long h, long w) {
        norm1.cost(t, h * w);
        attn.cost(t, h, w);
        norm2.cost(t, h * w);
        mlp.cost(t, h, w);
    }
}
