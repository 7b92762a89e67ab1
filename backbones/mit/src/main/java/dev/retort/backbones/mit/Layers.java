package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;

/**
 * The leaf layers: parameters {@code weight} / {@code bias} (and BatchNorm's running statistics), the PyTorch forward
 * of {@link Ops}, and multiply-accumulates by mmcv's counter: convolutions with their bias, linears without theirs,
 * norms two per element.
 */
final class Layers {
    private Layers() {}

    /** y = x·Wᵀ + b over the last axis. */
    static final class Linear extends Block {
        private final long in, out;

        Linear(int in, int out, Init weight, Init bias) {
            this.in = in;
            this.out = out;
            parameter("weight", new Shape(out, in), weight);
            parameter("bias", new Shape(out), bias);
        }

        /** The encoder's linears: truncated normal (std 0.02) weights, zero biases. */
        static Linear encoder(int in, int out) {
            return new Linear(in, out, Init.truncatedNormal(0.02, -2, 2), Init.zeros());
        }

        NDArray forward(NDArray x) {
            return Ops.linear(x, parameters(), prefix());
        }

        long macs(long tokens) {
            return tokens * in * out;
        }
    }

    /** LayerNorm over the last axis, γ = 1 and β = 0 initially. */
    static final class LayerNorm extends Block {
        private final long channels;
        private final float eps;

        LayerNorm(int channels, float eps) {
            this.channels = channels;
            this.eps = eps;
            parameter("weight", new Shape(channels), Init.ones());
            parameter("bias", new Shape(channels), Init.zeros());
        }

        NDArray forward(NDArray x) {
            return Ops.layerNorm(x, parameters(), prefix(), eps);
        }

        long macs(long tokens) {
            return 2 * tokens * channels;
        }
    }

    /** Square 2-D convolution, NCHW; without a bias when its initialiser is null. */
    static final class Conv extends Block {
        private final long in, out;
        private final int kernel, stride, padding, groups;
        private final boolean bias;

        Conv(int in, int out, int kernel, int stride, int padding, int groups, Init weight, Init bias) {
            this.in = in;
            this.out = out;
            this.kernel = kernel;
            this.stride = stride;
            this.padding = padding;
            this.groups = groups;
            this.bias = bias != null;
            parameter("weight", new Shape(out, in / groups, kernel, kernel), weight);
            if (bias != null) parameter("bias", new Shape(out), bias);
        }

        /** The encoder's convolutions: N(0, √(2 / fan_out)) weights with fan_out = k·k·out / groups, zero biases. */
        static Conv encoder(int in, int out, int kernel, int stride, int padding, int groups) {
            return new Conv(in, out, kernel, stride, padding, groups, Init.kaimingNormalFanOut((long) kernel * kernel * out / groups),
                    Init.zeros());
        }

        NDArray forward(NDArray x) {
            return Ops.conv2d(x, get("weight"), bias ? get("bias") : null, stride, padding, groups);
        }

        /** Output extent of an input extent: floor((in + 2·padding − kernel) / stride) + 1. */
        long outputSize(long extent) {
            return Math.floorDiv(extent + 2L * padding - kernel, stride) + 1;
        }

        /** Producing {@code positions} output positions. */
        long macs(long positions) {
            return positions * out * ((long) kernel * kernel * in / groups) + (bias ? positions * out : 0);
        }
    }

    /** BatchNorm over axis 1 with running statistics (PyTorch's momentum 0.1); γ = 1, β = 0, mean 0, var 1 initially. */
    static final class BatchNorm extends Block {
        private final long channels;

        BatchNorm(int channels) {
            this.channels = channels;
            parameter("weight", new Shape(channels), Init.ones());
            parameter("bias", new Shape(channels), Init.zeros());
            buffer("running_mean", new Shape(channels), Init.zeros());
            buffer("running_var", new Shape(channels), Init.ones());
        }

        NDArray forward(NDArray x, boolean training) {
            return Ops.batchNorm(x, parameters(), prefix(), training);
        }

        long macs(long positions) {
            return 2 * positions * channels;
        }
    }
}
