package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;

/** PVTv2's feed-forward: Linear → (ReLU, linear variant only) → depth-wise 3×3 conv on the token map → exact GELU → Linear. */
record MixFfn(String prefix, boolean linear, Linear fc1, Conv dwconv, Linear fc2) implements Block {
    MixFfn(String prefix, int dim, int hidden, boolean linear) {
        this(prefix, linear, new Linear(prefix + ".fc1", dim, hidden),
                Conv.kaiming(prefix + ".dwconv.dwconv", hidden, hidden, 3, 1, 1, hidden), new Linear(prefix + ".fc2", hidden, dim));
    }

    @Override
    public void declare(ParameterSet p) {
        fc1.declare(p);
        dwconv.declare(p);
        fc2.declare(p);
    }

    NDArray forward(ParameterSet p, NDArray x, long h, long w) {
        NDArray hidden = fc1.forward(p, x);
        if (linear) hidden = Activation.relu(hidden);
        NDArray mixed = Ops.mapToTokens(dwconv.forward(p, Ops.tokensToMap(hidden, h, w)));
        return fc2.forward(p, Ops.gelu(mixed));
    }

    void cost(Tally t, long h, long w) {
        long n = h * w;
        fc1.cost(t, n);
        if (linear) t.relu(n * fc1.out());
        dwconv.cost(t, n);
        fc2.cost(t, n);
    }
}
