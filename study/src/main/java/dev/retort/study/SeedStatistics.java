package dev.retort.study;

import java.util.Arrays;

/**
 * Mean and spread of a figure over seeds, and whether a distilled student's gain over the student alone is larger than
 * its spread: the gain is paired by seed (both arms of a seed share the initialisation seed and the data order), its
 * spread is the sample standard deviation of the per-seed differences.
 */
final class SeedStatistics {
    private SeedStatistics() {}

    static double mean(double[] v) {
        if (v.length == 0) throw new IllegalArgumentException("no values");
        return Arrays.stream(v).sum() / v.length;
    }

    /** The sample standard deviation (n − 1 in the denominator); 0 for a single value. */
    static double std(double[] v) {
        if (v.length < 2) return 0;
        double m = mean(v), ss = 0;
        for (double x : v) ss += (x - m) * (x - m);
        return Math.sqrt(ss / (v.length - 1));
    }

    /** Where the gain stands against its spread. */
    enum Verdict { LARGER, SMALLER, WITHIN }

    /**
     * The gain of {@code distilled} over {@code alone}, in the units given (e.g. mIoU points), seed by seed.
     *
     * @param mean    mean of the per-seed differences
     * @param std     their sample standard deviation
     * @param seeds   number of seeds
     * @param verdict {@code LARGER} when the mean gain exceeds its spread (mean − std &gt; 0), {@code SMALLER} when the
     *                distilled student is worse by more than the spread (mean + std &lt; 0), else {@code WITHIN}; never
     *                {@code LARGER} or {@code SMALLER} with fewer than 2 seeds (a single seed has no spread)
     */
    record Gain(double mean, double std, int seeds, Verdict verdict) {
        /** One line, e.g. {@code gain +4.1 ± 1.2 mIoU over 3 seeds: larger than its spread …}. */
        String line(String unit) {
            String head = String.format("gain %+.1f ± %.1f %s over %d seed%s (mean ± std of the per-seed differences)", mean, std, unit, seeds,
                    seeds == 1 ? "" : "s");
            return head + switch (verdict) {
                case LARGER -> ": larger than its spread, the distilled student is better at this scale";
                case SMALLER -> ": the distilled student is worse by more than the spread at this scale";
                case WITHIN -> seeds < 2 ? ": one seed has no spread, so this says nothing either way"
                        : ": not larger than its spread, so this demo shows no difference between the arms at this scale";
            };
        }
    }

    /** The per-seed gain of {@code distilled} over {@code alone}; both list the same seeds in the same order. */
    static Gain gain(double[] alone, double[] distilled) {
        if (alone.length != distilled.length || alone.length == 0) {
            throw new IllegalArgumentException("the arms need the same seeds: " + alone.length + " vs " + distilled.length + " values");
        }
        double[] d = new double[alone.length];
        for (int i = 0; i < d.length; i++) d[i] = distilled[i] - alone[i];
        double m = mean(d), s = std(d);
        Verdict v = d.length < 2 ? Verdict.WITHIN : m - s > 0 ? Verdict.LARGER : m + s < 0 ? Verdict.SMALLER : Verdict.WITHIN;
        return new Gain(m, s, d.length, v);
    }
}
