package dev.retort.study;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The demo's up-front duration estimate against the durations measured on 2 cores. */
class DemoTest {
    @Test
    void theEstimateMatchesTheMeasuredDurations() {
        // 10 + 6·(3 + 5 + 0.18·400) = 490 s (measured 486 s, teacher cached)
        assertEquals("8 minutes", Demo.expected(0, 400, 200));
        // + 8 + 0.26·1200 = 810 s (measured 871 s idle, 921 s at load 5)
        assertEquals("14 minutes", Demo.expected(1200, 400, 200));
        // --scale 0.05: 10 + 6·(3 + 0.4 + 3.6) = 52 s (measured 49 s); with its own 60-step teacher 75.6 s (measured 76 s)
        assertEquals("50 seconds", Demo.expected(0, 20, 16));
        assertEquals("80 seconds", Demo.expected(60, 20, 16));
    }
}
