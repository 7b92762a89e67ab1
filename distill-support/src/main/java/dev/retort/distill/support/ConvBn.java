package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;

/**
 * A convolution without bias followed by BatchNorm (stride 1, "same" padding), e.g. the 1×1 conv + BN that aligns a
 * student's channels with a teacher's. Its parameters are named as PyTorch names {@code nn.Sequential(Conv2d(bias=False),
 * BatchNorm2d)}: {@code <prefix>.0.weight} and {@code <prefix>.1.weight}, {@code .bias}, {@code .running_mean},
 * {@code .running_var}, so reference checkpoints load.
 */
public final class ConvBn {
    private final ParameterSet params;
    private final String prefix;
    private final int padding;

    private ConvBn(ParameterSet params, String prefix, int kernel) {
        this.params = params;
        this.prefix = prefix;
        this.padding = kernel / 2;
    }

    /**
     * Adds the parameters of a {@code kernel}×{@code kernel} convolution from {@code in} to {@code out} channels and
     * its BatchNorm (weight 1, bias 0, running mean 0, running variance 1) to {@code params}.
     *
     * @param init the convolution weight's initialiser (e.g. {@code Init.kaimingUniform(1, in·k²)})
     */
    public static ConvBn add(ParameterSet params, String prefix, int in, int out, int kernel, Init init) {
        if (kernel < 1 || kernel % 2 == 0) throw new IllegalArgumentException(prefix + ": kernel " + kernel + " must be odd and >= 1");
        params.add(prefix + ".0.weight", new Shape(out, in, kernel, kernel), init);
        addBatchNorm(params, prefix + ".1", out);
        return new ConvBn(params, prefix, kernel);
    }

    /** The connector whose parameters {@code params} already holds under {@code prefix} (the kernel from the weight's shape). */
    public static ConvBn of(ParameterSet params, String prefix) {
        return new ConvBn(params, prefix, (int) params.get(prefix + ".0.weight").getShape().get(2));
    }

    /** BatchNorm parameters as PyTorch initialises them: {@code <prefix>.weight} 1, {@code .bias} 0, running mean 0, running variance 1. */
    public static void addBatchNorm(ParameterSet params, String prefix, int channels) {
        params.add(prefix + ".weight", new Shape(channels), Init.ones());
        params.add(prefix + ".bias", new Shape(channels), Init.zeros());
        params.buffer(prefix + ".running_mean", new Shape(channels), Init.zeros());
        params.buffer(prefix + ".running_var", new Shape(channels), Init.ones());
    }

    /**
     * BN(conv(x)) for an NCHW map; in training with batch statistics and an in-place update of the running statistics
     * (momentum 0.1), else with the running statistics.
     */
    public NDArray forward(NDArray x, boolean training) {
        return Ops.batchNorm(Ops.conv2d(x, params.get(prefix + ".0.weight"), null, 1, padding, 1), params, prefix + ".1", training);
    }
}
