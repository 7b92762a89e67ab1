package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;

/**
 * {@code nn.Conv2d} with bias, square kernel. {@code weight} and {@code bias} are the reference's initialisation of
 * this particular conv (they differ between the encoder, mmcv's {@code ConvModule} and a plain torch conv).
 */
record Conv(String prefix, int in, int out, int kernel, int stride, int padding, int groups, Init weight, Init bias) implements Block {
    Conv {
        if (in % groups != 0 || out % groups != 0) {
            throw new IllegalArgumentException(prefix + ": " + in + " → " + out + " channels do not split into " + groups + " groups");
        }
    }

    /** Normal(0, √(2 / fan_out)) with fan_out = k·k·out / groups and a zero bias: PVTv2's {@code _init_weights} and mmcv's
     * {@code kaiming_init(mode='fan_out')} of a {@code ConvModule}, which are the same rule. */
    static Conv kaiming(String prefix, int in, int out, int kernel, int stride, int padding, int groups) {
        return new Conv(prefix, in, out, kernel, stride, padding, groups,
                Init.kaimingNormalFanOut((long) kernel * kernel * out / groups), Init.zeros());
    }

    @Override
    public void declare(ParameterSet p) {
        p.add(name("weight"), new Shape(out, in / groups, kernel, kernel), weight);
        p.add(name("bias"), new Shape(out), bias);
    }

    NDArray forward(ParameterSet p, NDArray x) {
        return Ops.conv2d(x, p.get(name("weight")), p.get(name("bias")), stride, padding, groups);
    }

    /** Output extent along one axis: floor((in + 2·padding − k) / stride) + 1. */
    long extent(long input) {
        return Math.floorDiv(input + 2L * padding - kernel, stride) + 1;
    }

    void cost(Tally t, long outputPositions) {
        t.conv(outputPositions, out, (long) in / groups * kernel * kernel, true);
    }
}
