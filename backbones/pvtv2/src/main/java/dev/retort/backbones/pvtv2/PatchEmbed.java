package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import dev.retort.nn.ArrayScope;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;

/** Overlapping patch embedding: a k×k conv with padding k/2, then LayerNorm (eps 1e-5) over the tokens. */
record PatchEmbed(String prefix, Conv proj, Norm norm) implements Block {
    PatchEmbed(String prefix, int in, int out, int kernel, int stride) {
        this(prefix, Conv.kaiming(prefix + ".proj", in, out, kernel, stride, kernel / 2, 1), new Norm(prefix + ".norm", out, Norm.TORCH_EPS));
    }

    /** Tokens [B, h·w, C] and the map size they came from. */
    record Tokens(NDArray tokens, long height, long width) {}

    @Override
    public void declare(ParameterSet p) {
        proj.declare(p);
        norm.declare(p);
    }

    Tokens forward(ParameterSet p, NDArray x) {
        try (ArrayScope scope = ArrayScope.over(x)) {
            NDArray map = proj.forward(p, x);
            return new Tokens(scope.keep(norm.forward(p, Ops.mapToTokens(map))), map.getShape().get(2), map.getShape().get(3));
        }
    }

    long extent(long input) {
        return proj.extent(input);
    }

    /** Cost at an output map of {@code height × width}. */
    void cost(Tally t, long height, long width) {
        proj.cost(t, height * width);
        norm.cost(t, height * width);
    }
}
