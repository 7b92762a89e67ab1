package dev.retort.nn;

/**
 * PyTorch's resampling rules along one axis as dense [out, in] row-major matrices, so that a separable 2-D resize of
 * an NCHW map is {@code A_h · X · A_wᵀ}: exact, differentiable with plain matrix products, on any device.
 */
final class ResizeMatrices {
    private ResizeMatrices() {}

    /**
     * {@code upsample_bilinear2d}'s two taps per output index, as libtorch computes them in float: with
     * align_corners false, scale = in/out and src = max(0, (dst + 0.5)·scale − 0.5); with align_corners true,
     * scale = (in − 1)/(out − 1) (0 for out = 1) and src = dst·scale; then i0 = ⌊src⌋, i1 = min(i0 + 1, in − 1),
     * weights 1 − λ and λ = src − i0 (clamped to [0, 1]).
     */
    static float[] bilinear(int in, int out, boolean alignCorners) {
        float[] m = new float[out * in];
        float scale = alignCorners ? (out > 1 ? (float) (in - 1) / (out - 1) : 0f) : (float) in / out;
        for (int dst = 0; dst < out; dst++) {
            float src = alignCorners ? scale * dst : Math.max(scale * (dst + 0.5f) - 0.5f, 0f);
            int i0 = Math.min((int) src, in - 1);
            int i1 = i0 < in - 1 ? i0 + 1 : i0;
            float l1 = Math.min(Math.max(src - i0, 0f), 1f), l0 = 1f - l1;
            m[dst * in + i0] += l0;
            m[dst * in + i1] += l1;
        }
        return m;
    }

    /** Adaptive average pooling: bin i of {@code bins} over length L averages [⌊i·L/bins⌋, ⌈(i+1)·L/bins⌉). */
    static float[] adaptiveAverage(int length, int bins) {
        float[] m = new float[bins * length];
        for (int i = 0; i < bins; i++) {
            int start = Math.floorDiv(i * length, bins);
            int end = -Math.floorDiv(-(i + 1) * length, bins);  // ceil
            for (int j = start; j < end; j++) m[i * length + j] = 1f / (end - start);
        }
        return m;
    }
}
