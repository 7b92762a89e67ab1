package dev.retort.datasets;

import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.MiouConvention;
import dev.retort.api.data.Sample;
import dev.retort.api.error.RetortConfigException;
import dev.retort.nn.Settings;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The two data protocols. Input: an image and its label map already in class ids (0..K−1, {@link #IGNORE} for
 * ignored pixels). Augmentation draws from a generator seeded by (seed, sample index), so the same sample and seed
 * give the same result on any thread.
 *
 * <ul>
 *   <li>{@code transkd} (spec §8.2, §8.5): shorter side resized to {@code short_side} (512), horizontal flip and a
 *       random ±2-pixel shift when augmenting, values in [0, 1] without normalisation, label at 1/4 resolution
 *       (nearest) with ignore mapped to class K (an output channel with loss weight 0).</li>
 *   <li>{@code standard}: random scale {@code scale_min}..{@code scale_max} (0.5–2.0) of the image, random crop
 *       {@code crop_height}×{@code crop_width} (512×1024) padded with ignore, flip, ImageNet mean/std; full-resolution
 *       labels with ignore = 255. Evaluation: no augmentation, optionally shorter side to {@code short_side}.</li>
 * </ul>
 */
public final class Protocols {
    public static final String TRANSKD = "transkd";
    public static final String STANDARD = "standard";
    public static final List<String> ALL = List.of(TRANSKD, STANDARD);
    public static final int IGNORE = 255;
    private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] STD = {0.229f, 0.224f, 0.225f};

    private Protocols() {}

    public static void check(String protocol) {
        if (!ALL.contains(protocol)) throw new RetortConfigException("unknown protocol '" + protocol + "' (known: " + ALL + ")");
    }

    /** Class metadata as a protocol delivers it. */
    public static DatasetInfo info(String dataset, List<String> classes, int[] palette, float[] transkdWeights, String protocol) {
        int k = classes.size();
        if (protocol.equals(TRANSKD)) return new DatasetInfo(dataset, classes, k, k + 1, transkdWeights, palette, MiouConvention.ALL_CLASSES);
        float[] ones = new float[k];
        Arrays.fill(ones, 1f);
        return new DatasetInfo(dataset, classes, IGNORE, k, ones, palette, MiouConvention.PRESENT_CLASSES);
    }

    /** Uniform TransKD weights (1 per class, 0 for the ignore channel) for datasets the reference gives none. */
    public static float[] uniformWithIgnore(int classes) {
        float[] w = new float[classes + 1];
        Arrays.fill(w, 0, classes, 1f);
        return w;
    }

    public static Sample apply(String protocol, String id, RgbImage image, int[] labels, int classes, boolean augment, long seed, int index,
                        Settings options) {
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        return protocol.equals(TRANSKD) ? transkd(id, image, labels, classes, augment, random, options)
                : standard(id, image, labels, augment, random, options);
    }

    private static Sample transkd(String id, RgbImage image, int[] labels, int classes, boolean augment, SplittableRandom random,
                                  Settings options) {
        int h = image.height(), w = image.width();
        int shortSide = options.integer("short_side", 512);
        int newH, newW;
        if (h <= w) {
            newH = shortSide;
            newW = (int) ((long) shortSide * w / h);
        } else {
            newW = shortSide;
            newH = (int) ((long) shortSide * h / w);
        }
        float[] img = Resample.bilinear(toFloat(image), 3, h, w, newH, newW);
        int lh = Math.round(newH / 4f), lw = Math.round(newW / 4f);
        int[] lbl = Resample.nearest(labels, h, w, lh, lw);
        if (augment) {
            if (random.nextBoolean()) {
                flip(img, 3, newH, newW);
                flip(lbl, lh, lw);
            }
            int tx = random.nextInt(-2, 3), ty = random.nextInt(-2, 3);
            img = shift(img, 3, newH, newW, tx, ty, 0f);
            lbl = shift(lbl, lh, lw, tx, ty, IGNORE);  // the same pixel count on the 1/4 label, as the reference
        }
        for (int i = 0; i < lbl.length; i++) if (lbl[i] == IGNORE) lbl[i] = classes;
        return new Sample(id, newH, newW, img, lh, lw, lbl);
    }

    private static Sample standard(String id, RgbImage image, int[] labels, boolean augment, SplittableRandom random, Settings options) {
        int h = image.height(), w = image.width();
        float[] img = toFloat(image);
        int[] lbl = labels;
        if (augment) {
            double scale = options.real("scale_min", 0.5) + random.nextDouble() * (options.real("scale_max", 2.0) - options.real("scale_min", 0.5));
            int sh = Math.max(1, (int) Math.round(h * scale)), sw = Math.max(1, (int) Math.round(w * scale));
            img = Resample.bilinear(img, 3, h, w, sh, sw);
            lbl = Resample.nearest(lbl, h, w, sh, sw);
            h = sh;
            w = sw;
            int ch = options.integer("crop_height", 512), cw = options.integer("crop_width", 1024);
            int y0 = h > ch ? random.nextInt(h - ch + 1) : 0, x0 = w > cw ? random.nextInt(w - cw + 1) : 0;
            img = crop(img, 3, h, w, y0, x0, ch, cw, 0f);
            lbl = crop(lbl, h, w, y0, x0, ch, cw);
            h = ch;
            w = cw;
            if (random.nextBoolean()) {
                flip(img, 3, h, w);
                flip(lbl, h, w);
            }
        } else {
            int shortSide = options.integer("short_side", 0);
            if (shortSide > 0 && Math.min(h, w) != shortSide) {
                int nh = h <= w ? shortSide : (int) ((long) shortSide * h / w), nw = h <= w ? (int) ((long) shortSide * w / h) : shortSide;
                img = Resample.bilinear(img, 3, h, w, nh, nw);
                lbl = Resample.nearest(lbl, h, w, nh, nw);
                h = nh;
                w = nw;
            }
        }
        int plane = h * w;
        for (int c = 0; c < 3; c++) for (int i = 0; i < plane; i++) img[c * plane + i] = (img[c * plane + i] - MEAN[c]) / STD[c];
        return new Sample(id, h, w, img, h, w, lbl);
    }

    static float[] toFloat(RgbImage image) {
        byte[] p = image.planes();
        float[] f = new float[p.length];
        for (int i = 0; i < p.length; i++) f[i] = (p[i] & 0xff) / 255f;
        return f;
    }

    private static void flip(float[] a, int channels, int h, int w) {
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < h; y++) {
                int row = (c * h + y) * w;
                for (int x = 0; x < w / 2; x++) {
                    float t = a[row + x];
                    a[row + x] = a[row + w - 1 - x];
                    a[row + w - 1 - x] = t;
                }
            }
        }
    }

    private static void flip(int[] a, int h, int w) {
        for (int y = 0; y < h; y++) {
            int row = y * w;
            for (int x = 0; x < w / 2; x++) {
                int t = a[row + x];
                a[row + x] = a[row + w - 1 - x];
                a[row + w - 1 - x] = t;
            }
        }
    }

    /** out(x, y) = in(x − tx, y − ty), pixels from outside = fill. */
    private static float[] shift(float[] a, int channels, int h, int w, int tx, int ty, float fill) {
        float[] out = new float[a.length];
        Arrays.fill(out, fill);
        for (int c = 0; c < channels; c++) {
            for (int y = Math.max(0, ty); y < Math.min(h, h + ty); y++) {
                int src = (c * h + y - ty) * w, dst = (c * h + y) * w;
                for (int x = Math.max(0, tx); x < Math.min(w, w + tx); x++) out[dst + x] = a[src + x - tx];
            }
        }
        return out;
    }

    private static int[] shift(int[] a, int h, int w, int tx, int ty, int fill) {
        int[] out = new int[a.length];
        Arrays.fill(out, fill);
        for (int y = Math.max(0, ty); y < Math.min(h, h + ty); y++) {
            for (int x = Math.max(0, tx); x < Math.min(w, w + tx); x++) out[y * w + x] = a[(y - ty) * w + x - tx];
        }
        return out;
    }

    private static float[] crop(float[] a, int channels, int h, int w, int y0, int x0, int ch, int cw, float fill) {
        float[] out = new float[channels * ch * cw];
        Arrays.fill(out, fill);
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < ch && y0 + y < h; y++) {
                System.arraycopy(a, (c * h + y0 + y) * w + x0, out, (c * ch + y) * cw, Math.min(cw, w - x0));
            }
        }
        return out;
    }

    private static int[] crop(int[] a, int h, int w, int y0, int x0, int ch, int cw) {
        int[] out = new int[ch * cw];
        Arrays.fill(out, IGNORE);
        for (int y = 0; y < ch && y0 + y < h; y++) System.arraycopy(a, (y0 + y) * w + x0, out, y * cw, Math.min(cw, w - x0));
        return out;
    }
}
