package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.run.RunState;
import dev.retort.api.tap.TapValues;
import dev.retort.backbones.mit.MitBackbone;
import dev.retort.distill.csf.CsfDistiller;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code precision} and {@code teacher.precision}: checked values, refusals that say why, and the cast teacher. */
class PrecisionTest {
    @TempDir
    Path dir;

    private Map<String, Object> run(String key, String value) {
        Map<String, Object> m = TestServices.tinyRun(dir);
        m.put(key, value);
        return m;
    }

    private String rejected(String key, String value) {
        return assertThrows(IllegalArgumentException.class, () -> RunSettings.of(run(key, value))).getMessage();
    }

    @Test
    void unknownValuesNameTheKeyAndTheAllowedValues() {
        assertEquals("run: precision must be fp32 or bf16-mixed, got 'fp8'", rejected("precision", "fp8"));
        assertEquals("run: teacher.precision must be fp32, bf16 or fp16, got 'half'", rejected("teacher.precision", "half"));
        assertEquals("run: teacher.precision must be fp32, bf16 or fp16, got 'FP16'", rejected("teacher.precision", "FP16"));
    }

    @Test
    void bfloat16IsRefusedWithTheEngineReason() {
        String student = rejected("precision", "bf16-mixed");
        assertTrue(student.startsWith("run: precision = bf16-mixed is not available: DJL 0.35.1's PyTorch JNI has no bfloat16 type"), student);
        assertTrue(student.contains("record no gradient") && student.endsWith("use precision = fp32"), student);
        String teacher = rejected("teacher.precision", "bf16");
        assertTrue(teacher.startsWith("run: teacher.precision = bf16 is not available: DJL 0.35.1's PyTorch JNI has no bfloat16 type"), teacher);
    }

    @Test
    void defaultsAreFloat32AndTeacherPrecisionIsNotABackboneKey() {
        RunSettings plain = RunSettings.of(TestServices.tinyRun(dir));
        assertEquals(Precision.DEFAULT, plain.precision());
        RunSettings half = RunSettings.of(run("teacher.precision", "fp16"));
        assertEquals(new Precision("fp32", "fp16"), half.precision());
        assertFalse(half.run().teacher().config().containsKey("precision"), half.run().teacher().config().toString());
        assertTrue(half.toFileText().contains("teacher.precision"), "the run file keeps the key");
        assertEquals(new Precision("fp32", "fp32"), RunSettings.of(run("precision", "fp32")).precision());
    }

    @Test
    void float16TeacherIsRefusedOnTheCpuAtRunStartAndTheRunFails() {
        Map<String, Object> m = run("teacher.precision", "fp16");
        m.put("modules", "csf");
        m.put("device", "cpu");
        Trainer t = TestServices.runToEnd(new Trainer("t", RunSettings.of(m), new TestServices(new CsfDistiller()), null,
                new PrintStream(PrintStream.nullOutputStream())));
        assertEquals(RunState.FAILED, t.status().state());
        assertNotNull(t.failure());
        assertTrue(t.failure().getMessage().startsWith("teacher.precision = fp16 cannot run on cpu()"), t.failure().getMessage());
        assertTrue(t.failure().getMessage().contains("no float16 bilinear resize"), t.failure().getMessage());
    }

    /**
     * The cast teacher on a real MiT, in float64 (which the CPU runs everywhere): the taps come back float32, the
     * parameters stay float32, and the taps equal the float32 forward up to float32's rounding. Bound: each tap is
     * a sum of many float32-rounded products, so the two forwards differ by a few ulps of the tap's scale; 1e-4 of
     * the largest |tap| is two orders above that (unit roundoff 6e-8, depth ≈ 30 roundings per path) and far below
     * any real defect (a layer skipped or reading the wrong weight changes taps by O(1) of their scale).
     */
    @Test
    void castTeacherRunsInItsTypeAndGivesFloat32Taps() {
        Map<String, Object> cfg = Map.of("embed_dims", "16,32,48,64", "depths", "1,1,1,1", "num_heads", "1,2,3,4", "decoder_dim", "32");
        try (NDManager m = TestServices.ENGINE.newBaseManager();
             SegmentationNetwork net = new MitBackbone().build("mit-b2", cfg, m, 7)) {
            NDArray image = image(m, new Shape(2, 3, 64, 64));
            TapValues expected = net.forward(image, false);
            assertSame(net, Precision.DEFAULT.teacher(net, Device.cpu()), "fp32 leaves the teacher as it is");
            CastTeacher cast = new CastTeacher(net, DataType.FLOAT64);
            TapValues got = cast.forward(image, false);
            assertEquals(expected.values().keySet(), got.values().keySet());
            for (var e : expected.values().entrySet()) {
                NDArray g = got.get(e.getKey());
                assertEquals(DataType.FLOAT32, g.getDataType(), e.getKey());
                float scale = e.getValue().abs().max().getFloat();
                float diff = e.getValue().sub(g).abs().max().getFloat();
                assertTrue(diff <= 1e-4 * scale, e.getKey() + ": max |Δ| " + diff + " for scale " + scale);
            }
            // it ran in float64: a float64 forward differs from the float32 one somewhere
            assertTrue(expected.get("logits").sub(got.get("logits")).abs().max().getFloat() > 0, "the forward used the float64 copies");
            net.parameters().values().forEach(p -> assertEquals(DataType.FLOAT32, p.getArray().getDataType(), p.getName()));
            assertThrows(IllegalStateException.class, () -> cast.forward(image, true));
        }
    }

    private static NDArray image(NDManager m, Shape shape) {
        SplittableRandom r = new SplittableRandom(3);
        float[] v = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return m.create(v, shape);
    }
}
