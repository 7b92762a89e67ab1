package dev.retort.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Mean, sample standard deviation, the gain-against-spread decision and the paired t-test, on values worked out by hand. */
class SeedStatisticsTest {
    @Test
    void meanAndSampleStandardDeviation() {
        // {10, 12, 14}: mean 12; squares of the deviations 4 + 0 + 4 = 8, / (3 - 1) = 4, sqrt = 2
        assertEquals(12.0, SeedStatistics.mean(new double[] {10, 12, 14}), 1e-12);
        assertEquals(2.0, SeedStatistics.std(new double[] {10, 12, 14}), 1e-12);
        // {1, 2, 3, 4}: mean 2.5; 2.25 + 0.25 + 0.25 + 2.25 = 5, / 3, sqrt = 1.2909944…
        assertEquals(Math.sqrt(5.0 / 3), SeedStatistics.std(new double[] {1, 2, 3, 4}), 1e-12);
        assertEquals(0.0, SeedStatistics.std(new double[] {7}), 0.0);
    }

    @Test
    void aGainLargerThanItsSpreadIsSaidToBe() {
        // per-seed differences 14-10, 15-12, 19-14 = {4, 3, 5}: mean 4, std 1 -> 4 - 1 > 0
        SeedStatistics.Gain g = SeedStatistics.gain(new double[] {10, 12, 14}, new double[] {14, 15, 19});
        assertEquals(4.0, g.mean(), 1e-12);
        assertEquals(1.0, g.std(), 1e-12);
        assertEquals(3, g.seeds());
        assertEquals(SeedStatistics.Verdict.LARGER, g.verdict());
        assertTrue(g.line("mIoU").startsWith("gain +4.0 ± 1.0 mIoU over 3 seeds"), g.line("mIoU"));
        assertTrue(g.line("mIoU").contains("larger than its spread"), g.line("mIoU"));
        // paired t-test: t = 4 / (1 / sqrt 3) = 6.928 with 2 degrees of freedom; two-sided p = 1 - t / sqrt(2 + t^2) (closed form for df 2)
        double t = 4 * Math.sqrt(3);
        assertEquals(1 - t / Math.sqrt(2 + t * t), g.p(), 1e-9);
        assertEquals(0.0202, g.p(), 1e-4);
        assertTrue(g.line("mIoU").endsWith("(paired t-test, two-sided: p = 0.020)"), g.line("mIoU"));
    }

    @Test
    void twoSeedsGetNoTestAndEqualDifferencesNoP() {
        SeedStatistics.Gain two = SeedStatistics.gain(new double[] {10, 12}, new double[] {14, 15});
        assertTrue(Double.isNaN(two.p()), "no p below 3 seeds");
        assertTrue(two.line("mIoU").endsWith("(no t-test below 3 seeds)"), two.line("mIoU"));
        SeedStatistics.Gain same = SeedStatistics.gain(new double[] {10, 12, 14}, new double[] {12, 14, 16});
        assertEquals(SeedStatistics.Verdict.LARGER, same.verdict());
        assertTrue(Double.isNaN(same.p()) && same.line("mIoU").contains("every seed gave the same difference"), same.line("mIoU"));
    }

    @Test
    void armsAreSummarisedBySeedWithTheirGainOverTheBaseline() {
        List<Study.Row> rows = List.of(row(1, "student", 1, 0.10), row(1, "student", 2, 0.12), row(1, "student", 3, 0.14),
                row(2, "kd", 1, 0.14), row(2, "kd", 2, 0.15), row(2, "kd", 3, 0.19), row(3, "other seeds", 5, 0.2));
        List<SeedStatistics.ArmSummary> arms = SeedStatistics.summarise(rows, "student");
        assertEquals(3, arms.size());
        assertEquals(List.of(1L, 2L, 3L), arms.get(0).seeds());
        assertEquals(12.0, arms.get(0).mean(), 1e-9);
        assertEquals(2.0, arms.get(0).std(), 1e-9);
        assertNull(arms.get(0).gain(), "the baseline has no gain over itself");
        assertEquals(4.0, arms.get(1).gain().mean(), 1e-9);
        assertArrayEquals(new double[] {4, 3, 5}, arms.get(1).gain().differences(), 1e-9);
        assertNull(arms.get(2).gain());
        assertTrue(arms.get(2).noGain().contains("differ from the baseline's"), arms.get(2).noGain());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> SeedStatistics.summarise(rows, "nobody"));
        assertTrue(none.getMessage().contains("names no arm"), none.getMessage());
        String md = StudyResults.markdown(arms, "student");
        assertTrue(md.contains("| 1 | student | none | 1, 2, 3 | 12.00 ± 2.00 | 10.00 12.00 14.00 |"), md);
        assertTrue(md.contains("| 2 | kd | +4.00 ± 1.00 | +4.00 +3.00 +5.00 | larger than its spread, the arm is better at this scale | 0.020 |"), md);
        String csv = StudyResults.csv(arms);
        assertTrue(csv.startsWith("arm,name,modules,configuration,seeds,miou_mean,miou_std,miou:seed=1,miou:seed=2,miou:seed=3,miou:seed=5,gain_mean,"), csv);
        assertTrue(csv.contains("\n2,kd,none,,1 2 3,0.160000,0.026458,0.140000,0.150000,0.190000,,0.040000,0.010000,larger,0.0202"), csv);
    }

    private static Study.Row row(int arm, String name, long seed, double miou) {
        return new Study.Row(arm, name, seed, "none", "", miou, 1000, 0.1, 0, 5, 10, 4, Map.of(), List.of(1.0, 0.5), List.of(1.0, 0.5));
    }

    @Test
    void aGainWithinItsSpreadIsNotAGain() {
        // differences {1, -1, 3}: mean 1; 0 + 4 + 4 = 8, / 2 = 4, std 2 -> 1 - 2 < 0 and 1 + 2 > 0
        SeedStatistics.Gain g = SeedStatistics.gain(new double[] {10, 12, 14}, new double[] {11, 11, 17});
        assertEquals(1.0, g.mean(), 1e-12);
        assertEquals(2.0, g.std(), 1e-12);
        assertEquals(SeedStatistics.Verdict.WITHIN, g.verdict());
        assertTrue(g.line("mIoU").contains("not larger than its spread"), g.line("mIoU"));
    }

    @Test
    void aLossLargerThanTheSpreadIsSaidToBe() {
        // differences {-3, -4, -5}: mean -4, std 1 -> -4 + 1 < 0
        SeedStatistics.Gain g = SeedStatistics.gain(new double[] {10, 12, 14}, new double[] {7, 8, 9});
        assertEquals(SeedStatistics.Verdict.SMALLER, g.verdict());
        assertTrue(g.line("mIoU").startsWith("gain -4.0 ± 1.0 mIoU over 3 seeds"), g.line("mIoU"));
    }

    @Test
    void oneSeedHasNoSpreadAndDecidesNothing() {
        SeedStatistics.Gain g = SeedStatistics.gain(new double[] {10}, new double[] {20});
        assertEquals(SeedStatistics.Verdict.WITHIN, g.verdict());
        assertTrue(g.line("mIoU").contains("over 1 seed ") && g.line("mIoU").contains("says nothing"), g.line("mIoU"));
    }

    @Test
    void armsWithDifferentSeedsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SeedStatistics.gain(new double[] {1, 2}, new double[] {1}));
        assertTrue(e.getMessage().contains("same seeds"), e.getMessage());
    }
}
