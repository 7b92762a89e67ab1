package dev.retort.study;

import dev.retort.api.error.RetortConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.commons.math3.stat.inference.TTest;

/**
 * The one statistics code of studies and the demo: mean and spread of a figure over seeds, and whether an arm's gain
 * over a baseline arm is larger than its spread. The gain is paired by seed (both arms of a seed share the
 * initialisation seed and the data order); its spread is the sample standard deviation of the per-seed differences.
 *
 * <p>With 3 or more seeds the gain also gets a two-sided <b>paired t-test</b> p-value (the differences' mean over its
 * standard error, Student's t with n − 1 degrees of freedom, from commons-math3). Not a sign test: with n seeds the
 * smallest two-sided p a sign test can give is 2 · 0.5ⁿ (0.25 for 3 seeds, still 0.0625 for 5), so at the seed counts
 * studies run it could never tell anything; the t-test can, at the price of assuming roughly normal differences.
 */
public final class SeedStatistics {
    /** The fewest seeds for a p-value: with 2 the t distribution has one degree of freedom and says next to nothing. */
    static final int MIN_SEEDS_FOR_TEST = 3;

    private SeedStatistics() {}

    static double mean(double[] v) {
        if (v.length == 0) throw new RetortConfigException("no values");
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
    public enum Verdict { LARGER, SMALLER, WITHIN }

    /**
     * The gain of an arm over the baseline, in the units given (e.g. mIoU points), seed by seed.
     *
     * @param differences the per-seed differences (arm − baseline), in seed order
     * @param mean        mean of the per-seed differences
     * @param std         their sample standard deviation
     * @param seeds       number of seeds
     * @param verdict     {@code LARGER} when the mean gain exceeds its spread (mean − std &gt; 0), {@code SMALLER} when the
     *                    arm is worse by more than the spread (mean + std &lt; 0), else {@code WITHIN}; never {@code LARGER}
     *                    or {@code SMALLER} with fewer than 2 seeds (a single seed has no spread)
     * @param p           the paired t-test's two-sided p-value; NaN with fewer than {@link #MIN_SEEDS_FOR_TEST} seeds or
     *                    when the differences have no spread (every seed gave the same difference)
     */
    public record Gain(double[] differences, double mean, double std, int seeds, Verdict verdict, double p) {
        /** One line, e.g. {@code gain +4.1 ± 1.2 mIoU over 3 seeds (…): larger than its spread (paired t-test p = 0.021)}. */
        public String line(String unit) {
            String head = String.format("gain %+.1f ± %.1f %s over %d seed%s (mean ± std of the per-seed differences)", mean, std, unit, seeds,
                    seeds == 1 ? "" : "s");
            return head + ": " + verdictText() + testText();
        }

        /** The verdict in words. */
        public String verdictText() {
            return switch (verdict) {
                case LARGER -> "larger than its spread, the arm is better at this scale";
                case SMALLER -> "worse by more than the spread at this scale";
                case WITHIN -> seeds < 2 ? "one seed has no spread, so this says nothing either way"
                        : "not larger than its spread, so this shows no difference between the arms at this scale";
            };
        }

        /** The p-value's clause, or why there is none. */
        String testText() {
            if (seeds < MIN_SEEDS_FOR_TEST) return " (no t-test below " + MIN_SEEDS_FOR_TEST + " seeds)";
            if (Double.isNaN(p)) return " (no t-test: every seed gave the same difference)";
            return String.format(" (paired t-test, two-sided: p = %s)", formatP(p));
        }
    }

    /** A p-value as a table shows it: 3 significant digits, and "< 0.001" below that. */
    static String formatP(double p) {
        if (Double.isNaN(p)) return "–";
        return p < 0.001 ? "< 0.001" : String.format("%.3f", p);
    }

    /** The per-seed gain of {@code arm} over {@code baseline}; both list the same seeds in the same order. */
    static Gain gain(double[] baseline, double[] arm) {
        if (baseline.length != arm.length || baseline.length == 0) {
            throw new RetortConfigException("the arms need the same seeds: " + baseline.length + " vs " + arm.length + " values");
        }
        double[] d = new double[baseline.length];
        for (int i = 0; i < d.length; i++) d[i] = arm[i] - baseline[i];
        double m = mean(d), s = std(d);
        Verdict v = d.length < 2 ? Verdict.WITHIN : m - s > 0 ? Verdict.LARGER : m + s < 0 ? Verdict.SMALLER : Verdict.WITHIN;
        // commons-math3's paired t-test: t = mean / (std / √n), Student's t with n − 1 degrees of freedom, two-sided
        double p = d.length < MIN_SEEDS_FOR_TEST || !(s > 0) ? Double.NaN : new TTest().pairedTTest(arm, baseline);
        return new Gain(d, m, s, d.length, v, p);
    }

    /**
     * An arm's rows over its seeds.
     *
     * @param rows    the arm's rows, in seed order
     * @param miou    each seed's mIoU in percent, in the same order
     * @param gain    the paired gain over the baseline, or {@code null} (the baseline itself, no baseline, or {@code noGain})
     * @param noGain  why an arm other than the baseline has no gain (seeds differ from the baseline's), else empty
     */
    public record ArmSummary(List<Study.Row> rows, double[] miou, Gain gain, String noGain) {
        public Study.Row first() {
            return rows.get(0);
        }

        public List<Long> seeds() {
            return rows.stream().map(Study.Row::seed).toList();
        }

        public double mean() {
            return SeedStatistics.mean(miou);
        }

        public double std() {
            return SeedStatistics.std(miou);
        }

        /** The mean of a figure over the arm's seeds (NaN where a seed has none). */
        public double meanOf(java.util.function.ToDoubleFunction<Study.Row> figure) {
            return rows.stream().mapToDouble(figure).average().orElse(Double.NaN);
        }
    }

    /**
     * The rows grouped by arm (in the order of their first row), seeds in the order given, with each arm's gain over
     * {@code baseline} (an arm name, or {@code null} for none).
     *
     * @throws IllegalArgumentException when {@code baseline} names no arm
     */
    public static List<ArmSummary> summarise(List<Study.Row> rows, String baseline) {
        Map<Integer, List<Study.Row>> byArm = new LinkedHashMap<>();
        for (Study.Row r : rows) byArm.computeIfAbsent(r.arm(), a -> new ArrayList<>()).add(r);
        List<Study.Row> base = null;
        if (baseline != null) {
            base = byArm.values().stream().filter(l -> l.get(0).name().equals(baseline)).findFirst().orElseThrow(() -> new RetortConfigException(
                    "baseline = " + baseline + " names no arm (arms: " + byArm.values().stream().map(l -> l.get(0).name()).toList() + ")"));
        }
        List<ArmSummary> out = new ArrayList<>();
        for (List<Study.Row> arm : byArm.values()) {
            double[] miou = percent(arm);
            Gain gain = null;
            String noGain = "";
            if (base != null && arm != base) {
                List<Long> seeds = arm.stream().map(Study.Row::seed).toList(), baseSeeds = base.stream().map(Study.Row::seed).toList();
                if (seeds.equals(baseSeeds)) gain = gain(percent(base), miou);
                else noGain = "seeds " + seeds + " differ from the baseline's " + baseSeeds + ": no paired gain";
            }
            out.add(new ArmSummary(List.copyOf(arm), miou, gain, noGain));
        }
        return out;
    }

    private static double[] percent(List<Study.Row> rows) {
        return rows.stream().mapToDouble(r -> 100 * r.miou()).toArray();
    }

    /** The step-by-step mean and sample standard deviation of several curves (as long as the shortest; NaN where any is NaN). */
    static List<double[]> meanCurve(List<List<Double>> curves) {
        Objects.requireNonNull(curves);
        int n = curves.stream().mapToInt(List::size).min().orElse(0);
        List<double[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            double[] v = new double[curves.size()];
            for (int c = 0; c < v.length; c++) v[c] = curves.get(c).get(i);
            out.add(new double[] {mean(v), std(v)});
        }
        return out;
    }
}
