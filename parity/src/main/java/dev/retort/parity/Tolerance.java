package dev.retort.parity;

/**
 * The fixtures' bar: every element within {@code atol + rtol·|expected|} (PyTorch 1.13 vs this libtorch reorder
 * float sums). A mismatch beyond it is a bug to find, never a reason to loosen these numbers.
 */
public record Tolerance(double atol, double rtol) {
    public static final Tolerance FIXTURES = new Tolerance(1e-4, 1e-3);
    /** The training trajectory's loss terms, at every step: |Δ| ≤ 1e-4·(1 + |loss|) (its README). */
    public static final Tolerance TRAJECTORY_LOSS = new Tolerance(1e-4, 1e-4);

    /**
     * Compares whole tensors by their Euclidean norm: ‖Δ‖₂ ≤ {@code rel}·‖expected‖₂ + {@code abs}·√n. The training
     * trajectory's final weights use it: AdamW's normalised update can move an element whose gradient is ~0 by a
     * visible amount on rounding noise alone, so an element-wise bound would fail on noise, not on a bug.
     */
    public record Norm(double rel, double abs) {
        public static final Norm TRAJECTORY_TENSORS = new Norm(1e-3, 1e-5);

        public Comparison compare(String tensor, float[] actual, float[] expected) {
            if (actual.length != expected.length) {
                return new Comparison(tensor, Double.NaN, Double.POSITIVE_INFINITY, false, actual.length + " values, expected " + expected.length);
            }
            double diff2 = 0, norm2 = 0, maxAbs = 0;
            for (int i = 0; i < actual.length; i++) {
                double d = (double) actual[i] - expected[i];
                if (Double.isNaN(d)) d = Double.POSITIVE_INFINITY;
                diff2 += d * d;
                norm2 += (double) expected[i] * expected[i];
                maxAbs = Math.max(maxAbs, Math.abs(d));
            }
            double bound = rel * Math.sqrt(norm2) + abs * Math.sqrt(actual.length), diff = Math.sqrt(diff2);
            double ratio = diff / bound;
            return new Comparison(tensor, maxAbs, ratio, ratio <= 1.0, String.format("||d||2 %.3e of %.3e", diff, bound));
        }
    }

    /** Compares two arrays of equal length. */
    public Comparison compare(String tensor, float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            return new Comparison(tensor, Double.NaN, Double.POSITIVE_INFINITY, false,
                    actual.length + " values, expected " + expected.length);
        }
        double maxAbs = 0, worst = 0;
        for (int i = 0; i < actual.length; i++) {
            double diff = Math.abs((double) actual[i] - expected[i]);
            if (Double.isNaN(diff)) diff = Double.POSITIVE_INFINITY;
            maxAbs = Math.max(maxAbs, diff);
            worst = Math.max(worst, diff / (atol + rtol * Math.abs(expected[i])));
        }
        return new Comparison(tensor, maxAbs, worst, worst <= 1.0, "");
    }

    /** Compares integer tensors (e.g. argmax labels): they must be equal element by element, whatever the tolerance. */
    public static Comparison exact(String tensor, long[] actual, long[] expected) {
        if (actual.length != expected.length) {
            return new Comparison(tensor, Double.NaN, Double.POSITIVE_INFINITY, false, actual.length + " values, expected " + expected.length);
        }
        double maxAbs = 0;
        for (int i = 0; i < actual.length; i++) maxAbs = Math.max(maxAbs, Math.abs((double) actual[i] - expected[i]));
        return new Comparison(tensor, maxAbs, maxAbs == 0 ? 0 : Double.POSITIVE_INFINITY, maxAbs == 0, "exact");
    }

    /** The note that marks a comparison not held to its bound because rounding noise alone moves the tensor (see {@link #noise}). */
    public static final String NOISE = "NOISE";

    /**
     * {@code c} for a tensor that rounding noise alone moves by {@code sensitivity} (a share of its tolerance): shown with
     * its share, but not held to the bound, since no implementation but a bit-identical one could meet it.
     */
    public static Comparison noise(Comparison c, double sensitivity) {
        return new Comparison(c.tensor(), c.maxAbsError(), c.worstRatio(), true, String.format(
                "%s: the same run with each batch's samples in reverse order (the same mathematics) moves it by %.1f%% of its tolerance; %s",
                NOISE, 100 * sensitivity, c.note()));
    }

    /**
     * @param maxAbsError largest |actual − expected|
     * @param worstRatio  largest |actual − expected| / (atol + rtol·|expected|); pass when ≤ 1
     */
    public record Comparison(String tensor, double maxAbsError, double worstRatio, boolean pass, String note) {
        /** Whether this tensor was found to follow rounding noise and is shown, not held to the bound. */
        public boolean noise() {
            return note.startsWith(NOISE);
        }
    }
}
