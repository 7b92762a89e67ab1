package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import dev.retort.distill.pea.PeaDistiller;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code precision} and {@code teacher.precision}: checked values, refusals and warnings that say why, the cast teacher, bf16-mixed runs. */
class PrecisionTest {
    private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());
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
    void bfloat16IsAcceptedAndWarnedAboutOnlyOnACpuWithoutBfloat16Kernels() {
        Precision both = RunSettings.of(run("precision", "bf16-mixed")).precision();
        assertTrue(both.studentMixed());
        assertEquals(DataType.BFLOAT16, RunSettings.of(run("teacher.precision", "bf16")).precision().teacherType());
        Precision mixed = new Precision("bf16-mixed", "bf16");
        List<String> warned = mixed.warnings(Device.cpu(), Set.of("avx2", "fma"));
        assertEquals(1, warned.size());
        assertTrue(warned.get(0).startsWith("WARNING precision = bf16-mixed and teacher.precision = bf16 on a CPU without AVX-512 BF16 or AMX"), warned.get(0));
        assertEquals(List.of(), mixed.warnings(Device.cpu(), Set.of("avx2", "avx512_bf16")));
        assertEquals(List.of(), mixed.warnings(Device.cpu(), Set.of("amx_bf16")));
        assertEquals(List.of(), mixed.warnings(Device.gpu(), Set.of()), "a GPU has its own bfloat16 kernels");
        assertEquals(List.of(), Precision.DEFAULT.warnings(Device.cpu(), Set.of()));
        assertTrue(new Precision("fp32", "bf16").warnings(Device.cpu(), Set.of()).get(0).startsWith("WARNING teacher.precision = bf16 on a CPU"));
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
        try (NDManager m = TestServices.ENGINE.newBaseManager(); SegmentationNetwork net = tinyMit(m)) {
            NDArray image = image(m, new Shape(2, 3, 64, 64));
            assertSame(net, Precision.DEFAULT.teacher(net, Device.cpu()), "fp32 leaves the teacher as it is");
            CastTeacher cast = new CastTeacher(net, DataType.FLOAT64);
            Map<String, Float> deviation = deviations(net, cast, image);
            deviation.forEach((tap, d) -> assertTrue(d <= 1e-4, tap + ": max |Δ| is " + d + " of max |tap|"));
            // it ran in float64: a float64 forward differs from the float32 one somewhere
            assertTrue(deviation.get("logits") > 0, "the forward used the float64 copies");
            assertThrows(IllegalStateException.class, () -> cast.forward(image, true));
        }
    }

    /**
     * The teacher in bfloat16 on a real MiT: taps come back float32, parameters stay float32. bfloat16 rounds every
     * weight and every layer's output to 8 significant bits (u = 2⁻⁸ ≈ 0.4%); through about 30 rounded layers and
     * the normalisations between them the taps move by a few percent of their scale, which is the price of bfloat16
     * and is printed; 10% of the largest |tap| is the line past which a layer reads something wrong.
     */
    @Test
    void bfloat16TeacherGivesFloat32TapsCloseToTheFloat32Ones() {
        try (NDManager m = TestServices.ENGINE.newBaseManager(); SegmentationNetwork net = tinyMit(m)) {
            SegmentationNetwork teacher = new Precision("fp32", "bf16").teacher(net, Device.cpu());
            deviations(net, teacher, image(m, new Shape(2, 3, 64, 64))).forEach((tap, d) -> {
                System.out.printf("bf16 teacher tap %s: max |Δ| = %.2f%% of max |tap|%n", tap, 100 * d);
                assertTrue(d > 0 && d <= 0.1, tap + " ran in bfloat16, within 10%: " + d);
            });
        }
    }

    private static SegmentationNetwork tinyMit(NDManager m) {
        return new MitBackbone().build("mit-b2", Map.of("embed_dims", "16,32,48,64", "depths", "1,1,1,1", "num_heads", "1,2,3,4",
                "decoder_dim", "32"), m, 7);
    }

    /**
     * Per tap, the largest |Δ| between {@code net}'s float32 forward and {@code cast}'s as a share of the tap's largest
     * magnitude; checks that the cast network gives the same taps in float32 and left the parameters in float32.
     */
    private static Map<String, Float> deviations(SegmentationNetwork net, SegmentationNetwork cast, NDArray image) {
        TapValues expected = net.forward(image, false), got = cast.forward(image, false);
        assertEquals(expected.values().keySet(), got.values().keySet());
        Map<String, Float> deviation = new LinkedHashMap<>();
        for (var e : expected.values().entrySet()) {
            NDArray g = got.get(e.getKey());
            assertEquals(DataType.FLOAT32, g.getDataType(), e.getKey());
            deviation.put(e.getKey(), e.getValue().sub(g).abs().max().getFloat() / e.getValue().abs().max().getFloat());
        }
        net.parameters().values().forEach(p -> assertEquals(DataType.FLOAT32, p.getArray().getDataType(), p.getName()));
        return deviation;
    }

    /**
     * A bf16-mixed run with a bf16 teacher trains (finite losses near the float32 run's), gives the same losses again
     * from the same seed, and resumes from a checkpoint onto the uninterrupted sequence: the guarantees hold within
     * a precision.
     */
    @Test
    void bf16MixedRunIsRepeatableAndResumesExactly() {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("fp32"));
        run.put("modules", "csf,pea");
        run.put("eval_every", "100");
        List<Double> fp32 = TestServices.runToEnd(new Trainer("t", RunSettings.of(run), new TestServices(new CsfDistiller(), new PeaDistiller()), null, QUIET))
                .lossHistory();
        run.put("precision", "bf16-mixed");
        run.put("teacher.precision", "bf16");
        List<List<Double>> mixed = new ArrayList<>();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        for (String out : List.of("a", "b")) {
            run.put("output", dir.resolve(out).toString());
            Trainer t = TestServices.runToEnd(new Trainer("t", RunSettings.of(run), new TestServices(new CsfDistiller(), new PeaDistiller()), null,
                    new PrintStream(log, true)));
            assertEquals(RunState.FINISHED, t.status().state(), String.valueOf(t.failure()));
            mixed.add(t.lossHistory());
        }
        assertTrue(log.toString().contains("precision bf16-mixed: the student's linear, convolution and attention products in bfloat16"), log.toString());
        assertTrue(log.toString().contains("in bfloat16 (weights cast once"), log.toString());
        assertEquals(mixed.get(0), mixed.get(1), "same seed, same precision: the same losses");
        assertEquals(6, fp32.size());
        for (int i = 0; i < fp32.size(); i++) {
            assertTrue(Double.isFinite(mixed.get(0).get(i)));
            assertTrue(Math.abs(mixed.get(0).get(i) - fp32.get(i)) <= 0.05 * Math.abs(fp32.get(i)), "step " + i + ": " + mixed.get(0) + " vs " + fp32);
        }
        assertNotEquals(fp32, mixed.get(0), "the products ran in bfloat16");

        Map<String, Object> first = new HashMap<>(run);
        first.put("output", dir.resolve("c").toString());
        first.put("iterations", "3");
        TestServices.runToEnd(new Trainer("t", RunSettings.of(first), new TestServices(new CsfDistiller(), new PeaDistiller()), null, QUIET));
        Map<String, Object> second = new HashMap<>(first);
        second.put("iterations", "6");
        List<Double> resumed = TestServices.runToEnd(new Trainer("t", RunSettings.of(second), new TestServices(new CsfDistiller(), new PeaDistiller()),
                dir.resolve("c/last.safetensors"), QUIET)).lossHistory();
        assertEquals(mixed.get(0).subList(3, 6), resumed, "steps 4..6 after resuming at step 3");
    }

    private static NDArray image(NDManager m, Shape shape) {
        SplittableRandom r = new SplittableRandom(3);
        float[] v = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return m.create(v, shape);
    }
}
