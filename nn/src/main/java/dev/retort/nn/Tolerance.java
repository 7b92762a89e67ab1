package dev.retort.nn;

/**
 * The fixtures' bar: every element within {@code atol + rtol·|expected|} (PyTorch 1.13 vs this libtorch reorder
 * float sums). A mismatch beyond it is a bug to find, never a reason to loosen these numbers. {@code kd:parity} and
 * the parity tests of every bundle compare through it.
 */
public record Tolerance(double atol, double rtol) {
    public static final Tolerance FIXTURES = new Tolerance(1e-4, 1e-3);

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

    /**
     * @param maxAbsError largest |actual − expected|
     * @param worstRatio  largest |actual − expected| / (atol + rtol·|expected|); pass when ≤ 1
     */
    public record Comparison(String tensor, double maxAbsError, double worstRatio, boolean pass, String note) {}
}
