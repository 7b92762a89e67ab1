package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;

/** {@code nn.Linear} with bias over the last axis, initialised as PVTv2's {@code _init_weights}: trunc-normal(0.02), zero bias. */
record Linear(String prefix, int in, int out) implements Block {
    private static final Init WEIGHT = Init.truncatedNormal(0.02, -2, 2);

    @Override
    public void declare(ParameterSet p) {
        p.add(name("weight"), new Shape(out, in), WEIGHT);
        p.add(name("bias"), new Shape(out), Init.zeros());
    }

    NDArray forward(ParameterSet p, NDArray x) {
        return Ops.linear(x, p, prefix);
    }

    void cost(Tally t, long tokens) {
        t.linear(tokens, in, out);
    }
}
