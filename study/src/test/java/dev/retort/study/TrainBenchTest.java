package dev.retort.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The precision {@code kd:bench} measures its reference product in follows the run's products. */
class TrainBenchTest {
    @Test
    void referenceProductPrecisionFollowsTheRun() {
        assertEquals("fp32", TrainBench.precisionOf(Map.of()));
        assertEquals("fp16", TrainBench.precisionOf(Map.of("teacher.precision", "fp16")));
        assertEquals("bf16", TrainBench.precisionOf(Map.of("teacher.precision", " bf16 ")));
        assertEquals("bf16", TrainBench.precisionOf(Map.of("precision", "bf16-mixed")), "a bf16-mixed student's products are bfloat16");
        assertEquals("bf16", TrainBench.precisionOf(Map.of("precision", "bf16-mixed", "teacher.precision", "fp32")));
        assertEquals("fp32", TrainBench.precisionOf(Map.of("precision", "fp32")));
        assertThrows(IllegalArgumentException.class, () -> TrainBench.gemm(null, "fp8"));
    }
}
