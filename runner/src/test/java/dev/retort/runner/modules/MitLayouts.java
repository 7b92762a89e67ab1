package dev.retort.runner.modules;

import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import java.util.ArrayList;
import java.util.List;

/** Tap layouts shaped like MiT's (strides 4, 8, 16, 32), for module tests without the backbones bundle. */
final class MitLayouts {
    static final TapLayout B2 = of("mit-b2", 64, 128, 320, 512);
    static final TapLayout B0 = of("mit-b0", 32, 64, 160, 256);

    private MitLayouts() {}

    static TapLayout of(String name, int... dims) {
        List<TapSpec> taps = new ArrayList<>();
        int in = 3, inStride = 1;
        for (int s = 0; s < dims.length; s++) {
            int stride = 4 << s;
            taps.add(new TapSpec(TapNames.inputs(s + 1), in, inStride, TapKind.MAP));
            taps.add(new TapSpec(TapNames.embeds(s + 1), dims[s], stride, TapKind.TOKENS));
            taps.add(new TapSpec(TapNames.features(s + 1), dims[s], stride, TapKind.MAP));
            in = dims[s];
            inStride = stride;
        }
        taps.add(new TapSpec(TapNames.LOGITS, 20, 4, TapKind.MAP));
        return new TapLayout(name, dims.length, taps);
    }
}
