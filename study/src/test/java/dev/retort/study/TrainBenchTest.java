package dev.retort.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The precisions {@code kd:bench} measures its reference products in follow the run's, and a mixed step is set against both. */
class TrainBenchTest {
    @Test
    void referenceProductPrecisionsFollowTheTeacherAndTheStudent() {
        assertEquals("fp32", TrainBench.teacherPrecision(Map.of()));
        assertEquals("fp16", TrainBench.teacherPrecision(Map.of("teacher.precision", "fp16")));
        assertEquals("bf16", TrainBench.teacherPrecision(Map.of("teacher.precision", " bf16 ")));
        assertEquals("fp32", TrainBench.teacherPrecision(Map.of("precision", "bf16-mixed")), "a bf16-mixed student leaves the teacher in fp32");
        assertEquals("bf16", TrainBench.studentPrecision(Map.of("precision", "bf16-mixed")));
        assertEquals("fp32", TrainBench.studentPrecision(Map.of("precision", "fp32", "teacher.precision", "bf16")));
        assertThrows(IllegalArgumentException.class, () -> TrainBench.gemm(null, "fp8"));
    }

    /** What kd:bench prints is the run's count (RunResult.stepTransfers, which OptimizationStepTransfersTest checks against a per-step count). */
    @Test
    void theHostTransfersPrintedAreTheRunsCount() {
        String printed = TrainBench.transfers(Map.of("uploads", 2.0 + 1.0 / 3, "reads", 1.0, "syncs", 0.0));
        assertTrue(printed.contains("host transfers        3.33 per step: 2.33 uploads, 1.00 reads (counted over the timed steps)\n"), printed);
        assertTrue(TrainBench.transfers(Map.of("uploads", 2.0, "reads", 1.0, "syncs", 5.0)).contains("and 5.00 timer syncs"));
        assertTrue(TrainBench.transfers(Map.of()).contains("none counted"));
    }

    @Test
    void aMixedStepIsSetAgainstBothProductRates() {
        TrainBench.Measurement m = new TrainBench.Measurement(null, List.of(), "cpu()", 2, 128, 256, 2, 3,
                Map.of("teacher forward", 100.0, "backward", 900.0), 0, 0, -1, 10_000_000_000L, 3_000_000_000L, Map.of(), Set.of());
        String mixed = TrainBench.utilisation(m, new TrainBench.Gemm("fp32", "cpu()", 100), new TrainBench.Gemm("bf16", "cpu()", 400));
        // teacher 10 GFLOP in 0.1 s = 100 GFLOP/s = 100% of fp32; step (10 + 3·3) GFLOP in 1 s = 19 GFLOP/s
        assertTrue(mixed.contains("100.0 GFLOP/s  100.0% of the fp32 product rate"), mixed);
        assertTrue(mixed.contains("19.0 GFLOP/s   19.0% of the fp32, 4.8% of the bf16 product rate"), mixed);
        TrainBench.Gemm one = new TrainBench.Gemm("fp32", "cpu()", 100);
        String plain = TrainBench.utilisation(m, one, one);
        assertEquals(1, plain.split("utilisation").length - 1, plain);
        assertTrue(plain.contains("19.0% of the fp32 product rate"), plain);
    }
}
