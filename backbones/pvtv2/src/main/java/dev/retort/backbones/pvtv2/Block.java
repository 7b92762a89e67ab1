package dev.retort.backbones.pvtv2;

import dev.retort.nn.ParameterSet;

/**
 * A part of the network that owns every parameter under its checkpoint name prefix. Blocks are immutable
 * descriptions of the architecture: the same tree counts the cost without tensors and, given a parameter set,
 * declares its parameters and computes the forward pass.
 */
interface Block {
    /** Reference state-dict prefix, e.g. {@code backbone.block1.0.attn}. */
    String prefix();

    /** Adds this block's parameters (and those of its sub-blocks) to {@code p}, initialised as the reference does. */
    void declare(ParameterSet p);

    /** The name of one of this block's parameters or sub-blocks. */
    default String name(String child) {
        return prefix() + "." + child;
    }
}
