package dev.retort.datasets;

/**
 * Resizing as PIL does it for the reference pipeline: bilinear with a triangle filter whose support widens when
 * downscaling (antialiasing), and nearest with source = floor((dst + 0.5)·in/out).
 */
final class Resample {
    private Resample() {}

    /** Planar float image [C, H, W] to [C, outH, outW]. */
    static float[] bilinear(float[] src, int channels, int h, int w, int outH, int outW) {
        if (h == outH && w == outW) return src.clone();
        Weights wx = weights(w, outW), wy = weights(h, outH);
        float[] tmp = new float[channels * h * outW];
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < h; y++) {
                int rowIn = (c * h + y) * w, rowOut = (c * h + y) * outW;
                for (int x = 0; x < outW; x++) {
                    float acc = 0;
                    for (int k = 0; k < wx.count[x]; k++) acc += src[rowIn + wx.first[x] + k] * wx.w[x][k];
                    tmp[rowOut + x] = acc;
                }
            }
        }
        float[] out = new float[channels * outH * outW];
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < outH; y++) {
                int rowOut = (c * outH + y) * outW;
                for (int k = 0; k < wy.count[y]; k++) {
                    int rowIn = (c * h + wy.first[y] + k) * outW;
                    float weight = wy.w[y][k];
                    for (int x = 0; x < outW; x++) out[rowOut + x] += tmp[rowIn + x] * weight;
                }
            }
        }
        return out;
    }

    /** Label map to {@code outH × outW} by nearest neighbour. */
    static int[] nearest(int[] src, int h, int w, int outH, int outW) {
        if (h == outH && w == outW) return src.clone();
        int[] out = new int[outH * outW];
        for (int y = 0; y < outH; y++) {
            int sy = Math.min(h - 1, (int) Math.floor((y + 0.5) * h / outH));
            for (int x = 0; x < outW; x++) {
                int sx = Math.min(w - 1, (int) Math.floor((x + 0.5) * w / outW));
                out[y * outW + x] = src[sy * w + sx];
            }
        }
        return out;
    }

    private record Weights(int[] first, int[] count, float[][] w) {}

    private static Weights weights(int in, int out) {
        double scale = (double) in / out;
        double support = Math.max(1.0, scale);  // triangle radius, in source pixels
        int[] first = new int[out], count = new int[out];
        float[][] w = new float[out][];
        for (int i = 0; i < out; i++) {
            double center = (i + 0.5) * scale;
            int lo = Math.max(0, (int) Math.floor(center - support)), hi = Math.min(in, (int) Math.ceil(center + support));
            double[] raw = new double[Math.max(1, hi - lo)];
            double sum = 0;
            for (int j = lo; j < hi; j++) {
                double d = Math.abs((j + 0.5 - center) / support);
                raw[j - lo] = Math.max(0, 1 - d);
                sum += raw[j - lo];
            }
            first[i] = lo;
            count[i] = hi - lo;
            w[i] = new float[raw.length];
            for (int k = 0; k < raw.length; k++) w[i][k] = (float) (sum > 0 ? raw[k] / sum : 0);
        }
        return new Weights(first, count, w);
    }
}
