package dev.retort.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Mean, sample standard deviation and the gain-against-spread decision, on values worked out by hand. */
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
