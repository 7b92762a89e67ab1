package dev.retort.runner.modules;

import dev.retort.api.tap.TapLayout;
import dev.retort.distill.support.RandomTaps;

/** Tap layouts shaped like MiT-B2's and MiT-B0's (strides 4, 8, 16, 32; 20 classes), for module tests without the backbones bundle. */
final class MitLayouts {
    static final TapLayout B2 = of("mit-b2", 64, 128, 320, 512);
    static final TapLayout B0 = of("mit-b0", 32, 64, 160, 256);

    private MitLayouts() {}

    static TapLayout of(String name, int... dims) {
        return RandomTaps.mit(name, 20, dims);
    }
}
