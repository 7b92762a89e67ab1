package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import dev.retort.nn.ParameterSet;

/**
 * mmcv's {@code ConvModule} as the FPN and its head use it: {@code <prefix>.conv} with bias, no norm, ReLU or none;
 * kaiming-normal (fan-out) weights and zero bias, which mmcv sets when it builds the module.
 */
record ConvModule(String prefix, Conv conv, boolean relu) implements Block {
    ConvModule(String prefix, int in, int out, int kernel, boolean relu) {
        this(prefix, Conv.kaiming(prefix + ".conv", in, out, kernel, 1, kernel / 2, 1), relu);
    }

    @Override
    public void declare(ParameterSet p) {
        conv.declare(p);
    }

    NDArray forward(ParameterSet p, NDArray x) {
        NDArray y = conv.forward(p, x);
        return relu ? Activation.relu(y) : y;
    }

    void cost(Tally t, long positions) {
        conv.cost(t, positions);
        if (relu) t.relu(positions * conv.out());
    }
}
