package dev.retort.runner.eval;

import dev.retort.api.data.MiouConvention;
import java.util.ArrayList;
import java.util.List;

/**
 * Accumulates a confusion matrix over a split and computes per-class IoU, mIoU and pixel accuracy.
 *
 * <p>Two conventions: {@link MiouConvention#ALL_CLASSES} (the reference's iouEval, spec §8.5): IoU = TP / (TP + FP + FN + 1e-15)
 * for every evaluated class, so a class absent from both ground truth and prediction scores 0 and still counts
 * in the mean; pixels whose ground truth is the ignore class are skipped; a prediction of the ignore class is
 * nobody's TP or FP but is an FN of the pixel's class. {@link MiouConvention#PRESENT_CLASSES}: the same counts, but the mean runs
 * over classes present in the ground truth or the prediction only.
 */
public final class ConfusionMatrix {

    private final int classes;
    private final int ignore;
    private final long[][] counts;  // [ground truth][prediction], prediction index `classes` = "other/ignore"

    /**
     * @param classes evaluated classes 0..K−1
     * @param ignore  label value of ignored ground-truth pixels (e.g. 19 or 255)
     */
    public ConfusionMatrix(int classes, int ignore) {
        this.classes = classes;
        this.ignore = ignore;
        this.counts = new long[classes][classes + 1];
    }

    /** Adds predictions and ground truth of equal length. */
    public void add(int[] prediction, int[] truth) {
        if (prediction.length != truth.length) throw new IllegalArgumentException(prediction.length + " predictions for " + truth.length + " labels");
        for (int i = 0; i < truth.length; i++) {
            int t = truth[i];
            if (t == ignore) continue;
            if (t < 0 || t >= classes) throw new IllegalArgumentException("label " + t + " outside 0.." + (classes - 1) + " (ignore " + ignore + ")");
            int p = prediction[i];
            counts[t][p >= 0 && p < classes ? p : classes]++;
        }
    }

    public void add(ConfusionMatrix other) {
        for (int t = 0; t < classes; t++) for (int p = 0; p <= classes; p++) counts[t][p] += other.counts[t][p];
    }

    public long pixels() {
        long n = 0;
        for (long[] row : counts) for (long c : row) n += c;
        return n;
    }

    /** IoU of each class (TP / (TP + FP + FN + 1e-15)). */
    public double[] iou() {
        double[] iou = new double[classes];
        for (int c = 0; c < classes; c++) {
            long tp = counts[c][c], fn = 0, fp = 0;
            for (int p = 0; p <= classes; p++) if (p != c) fn += counts[c][p];
            for (int t = 0; t < classes; t++) if (t != c) fp += counts[t][c];
            iou[c] = tp / (tp + fp + fn + 1e-15);
        }
        return iou;
    }

    /** Classes present in the ground truth or the prediction. */
    public boolean[] present() {
        boolean[] present = new boolean[classes];
        for (int c = 0; c < classes; c++) {
            for (int p = 0; p <= classes; p++) if (counts[c][p] > 0) present[c] = true;
            for (int t = 0; t < classes; t++) if (counts[t][c] > 0) present[c] = true;
        }
        return present;
    }

    public double meanIou(MiouConvention mode) {
        double[] iou = iou();
        boolean[] present = present();
        double sum = 0;
        int n = 0;
        for (int c = 0; c < classes; c++) {
            if (mode == MiouConvention.PRESENT_CLASSES && !present[c]) continue;
            sum += iou[c];
            n++;
        }
        return n == 0 ? 0 : sum / n;
    }

    /** Correct pixels over evaluated pixels. */
    public double pixelAccuracy() {
        long correct = 0;
        for (int c = 0; c < classes; c++) correct += counts[c][c];
        long n = pixels();
        return n == 0 ? 0 : (double) correct / n;
    }

    /** Per-class IoU table with the mean and the pixel accuracy. */
    public String table(List<String> names, MiouConvention mode) {
        double[] iou = iou();
        boolean[] present = present();
        List<String> rows = new ArrayList<>();
        rows.add(String.format("  %-16s %8s", "class", "IoU %"));
        for (int c = 0; c < classes; c++) {
            String name = c < names.size() ? names.get(c) : "class " + c;
            rows.add(String.format("  %-16s %8.2f%s", name, 100 * iou[c], present[c] ? "" : "  (absent)"));
        }
        rows.add(String.format("  %-16s %8.2f  (%s, %d classes)", "mIoU", 100 * meanIou(mode), mode.name().toLowerCase(),
                mode == MiouConvention.ALL_CLASSES ? classes : countTrue(present)));
        rows.add(String.format("  %-16s %8.2f", "pixel accuracy", 100 * pixelAccuracy()));
        return String.join("\n", rows) + "\n";
    }

    private static int countTrue(boolean[] a) {
        int n = 0;
        for (boolean b : a) if (b) n++;
        return n;
    }
}
