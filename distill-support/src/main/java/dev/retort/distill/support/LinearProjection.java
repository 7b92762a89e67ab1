package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;

/**
 * A linear map over the last axis, {@code y = x·Wᵀ + b} (e.g. student tokens to the teacher's width), with PyTorch's
 * {@code nn.Linear} names ({@code <prefix>.weight} [out, in], {@code <prefix>.bias} [out]) and initialisation
 * (weight and bias U(±1/√in)).
 */
public final class LinearProjection {
    private final NDArray weight;
    private final NDArray bias;

    private LinearProjection(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
    }

    /** Adds the projection's parameters to {@code params}. */
    public static LinearProjection add(ParameterSet params, String prefix, int in, int out, boolean bias) {
        NDArray w = params.add(prefix + ".weight", new Shape(out, in), Init.pytorchDefault(in));
        NDArray b = bias ? params.add(prefix + ".bias", new Shape(out), Init.pytorchDefault(in)) : null;
        return new LinearProjection(w, b);
    }

    /** The projection {@code params} already holds under {@code prefix}, with its bias when it has one. */
    public static LinearProjection of(ParameterSet params, String prefix) {
        return new LinearProjection(params.get(prefix + ".weight"), params.contains(prefix + ".bias") ? params.get(prefix + ".bias") : null);
    }

    /** x [..., in] → [..., out]. */
    public NDArray forward(NDArray x) {
        return Ops.linear(x, weight, bias);
    }
}
