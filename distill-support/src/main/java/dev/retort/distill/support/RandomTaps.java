package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tap layouts and random tap values shaped like a MiT's (stage strides 4, 8, 16, 32), for testing a distiller on its
 * own: build its module from two layouts, run a step on their values, differentiate.
 */
public final class RandomTaps {
    private RandomTaps() {}

    /**
     * A MiT-shaped layout: per stage {@code inputs.s} (the image, then the previous stage's map), {@code embeds.s}
     * (tokens) and {@code features.s} (map) of {@code dims[s − 1]} channels, and {@code logits} (stride 4).
     */
    public static TapLayout mit(String network, int classes, int... dims) {
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
        taps.add(new TapSpec(TapNames.LOGITS, classes, 4, TapKind.MAP));
        return new TapLayout(network, dims.length, taps);
    }

    /**
     * Standard-normal values of every tap of {@code layout} for a batch of {@code batch} images of
     * {@code height}×{@code width} (multiples of the deepest stride), in {@code manager}; a stage's input is the previous
     * stage's map, as in the network.
     */
    public static TapValues values(TapLayout layout, NDManager manager, int batch, int height, int width) {
        Map<String, NDArray> values = new LinkedHashMap<>();
        for (TapSpec t : layout.taps()) {
            if (t.name().startsWith("inputs.") && !t.name().equals(TapNames.inputs(1))) continue;
            long h = height / t.stride(), w = width / t.stride();
            if (h * t.stride() != height || w * t.stride() != width) {
                throw new IllegalArgumentException(height + "x" + width + " is not a multiple of " + t.name() + "'s stride " + t.stride());
            }
            Shape shape = t.kind() == TapKind.MAP ? new Shape(batch, t.channels(), h, w) : new Shape(batch, h * w, t.channels());
            values.put(t.name(), manager.randomNormal(shape));
        }
        for (int s = 2; s <= layout.stages(); s++) values.put(TapNames.inputs(s), values.get(TapNames.features(s - 1)));
        return new TapValues(layout.network(), values);
    }
}
