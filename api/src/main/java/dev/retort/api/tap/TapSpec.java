package dev.retort.api.tap;

import java.util.Objects;

/**
 * Static description of one tap.
 *
 * @param name     tap name, e.g. {@code features.2}
 * @param channels channel count C
 * @param stride   spatial stride relative to the input image (4 for stage 1 of MiT, 1 for the image)
 * @param kind     tensor layout
 */
public record TapSpec(String name, int channels, int stride, TapKind kind) {
    public TapSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        if (channels <= 0) throw new IllegalArgumentException("tap " + name + ": channels must be > 0, got " + channels);
        if (stride <= 0) throw new IllegalArgumentException("tap " + name + ": stride must be > 0, got " + stride);
    }

    @Override
    public String toString() {
        return name + "[" + kind + " C=" + channels + " /" + stride + "]";
    }
}
