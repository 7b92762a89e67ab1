package dev.retort.datasets;

/** A label map of raw values (before any id mapping), row-major. */
record LabelImage(int width, int height, int[] values) {
    LabelImage {
        if (values.length != width * height) throw new IllegalArgumentException("label needs " + width + "x" + height + " values");
    }
}
