package dev.retort.backbones.pvtv2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.CastWeights;
import dev.retort.runtime.DjlRuntime;
import dev.retort.safetensors.SafeTensorsFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PVTv2-B0 + Semantic FPN against golden tensors of TransKD's official code ({@code ../shared/fixtures/pvtv2-parity}):
 * every tap, the logits and the gradients of {@code sum(logits · grad_probe)} in evaluation mode, each element within
 * 1e-4 + 1e-3·|expected|. A miss is a bug to find, never a reason to loosen the bar.
 */
class PvtParityTest {
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "pvtv2-parity");
    static final double ATOL = 1e-4, RTOL = 1e-3;
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    /** 64×128 (stage maps halve exactly) and 88×120 (22×30, 11×15, 6×8, 3×4: the FPN's and head's resizes are not ×2). */
    @ParameterizedTest
    @ValueSource(strings = {"pvtv2-parity", "pvtv2-parity-odd"})
    void everyTapLogitAndGradientMatchesTheOfficialCode(String set) throws Exception {
        Path folder = FIXTURES.resolveSibling(set);
        Path weights = folder.resolve("pvtv2-b0.weights.safetensors"), io = folder.resolve("pvtv2-b0.io.safetensors");
        List<String> failures = new ArrayList<>();
        Map<String, double[]> groups = new TreeMap<>();  // group -> worst |err|, worst ratio to the tolerance
        int compared = 0, golden;
        try (SafeTensorsFile g = SafeTensorsFile.open(io); NDManager m = engine.newBaseManager()) {
            golden = g.tensors().size() - 2;  // all but input and grad_probe
            long classes = g.info("logits").shape()[1];
            try (SegmentationNetwork net = new PvtBackbone().build("pvtv2-b0", Map.of("num_classes", classes), m, 0)) {
                LoadReport report = net.load(weights, LoadMode.STRICT);
                assertEquals(208, report.loaded(), "every tensor of the reference state dict");
                NDArray input = g.read("input", m);
                input.setRequiresGradient(true);
                TapValues taps;
                try (GradientCollector c = engine.newGradientCollector()) {
                    taps = net.forward(input, false);
                    c.backward(taps.get("logits").mul(g.read("grad_probe", m)).sum());
                }
                for (String name : g.tensors().keySet()) {
                    if (name.equals("input") || name.equals("grad_probe")) continue;
                    NDArray actual;
                    if (name.equals("grad.input")) {
                        actual = input.getGradient();
                    } else if (name.startsWith("grad.")) {
                        Parameter p = net.parameters().get(name.substring("grad.".length()));
                        assertNotNull(p, "no parameter for " + name);
                        actual = p.getArray().getGradient();
                    } else {
                        actual = taps.get(name);
                    }
                    float[] got = actual.toType(DataType.FLOAT32, false).toFloatArray(), expected = g.readFloats(name);
                    assertEquals(expected.length, got.length, name);
                    double worstAbs = 0, worstRatio = 0;
                    for (int i = 0; i < got.length; i++) {
                        double diff = Math.abs((double) got[i] - expected[i]);
                        if (Double.isNaN(diff)) diff = Double.POSITIVE_INFINITY;
                        worstAbs = Math.max(worstAbs, diff);
                        worstRatio = Math.max(worstRatio, diff / (ATOL + RTOL * Math.abs(expected[i])));
                    }
                    System.out.printf("  %s %-48s max|err| %.3e  (%5.1f%% of tolerance)%n", set, name, worstAbs, 100 * worstRatio);
                    String group = name.startsWith("grad.") ? "grad." + name.substring(5).replaceFirst("\\..*", "") : name.replaceFirst("\\..*", "");
                    groups.merge(group, new double[] {worstAbs, worstRatio}, (a, b) -> new double[] {Math.max(a[0], b[0]), Math.max(a[1], b[1])});
                    if (worstRatio > 1) failures.add(name + " max|err| " + worstAbs);
                    compared++;
                }
            }
        }
        groups.forEach((k, v) -> System.out.printf("  %s group %-16s worst max|err| %.3e  (%5.1f%% of tolerance)%n", set, k, v[0], 100 * v[1]));
        assertEquals(golden, compared);
        assertTrue(failures.isEmpty(), "out of tolerance: " + failures);
    }

    /**
     * The reference weights run in bfloat16 as a {@code teacher.precision = bf16} teacher does (weights cast once, input
     * cast, taps back to float32), through PVTv2's layers and the Semantic FPN head: each tap's largest deviation
     * from float32, as a share of its largest magnitude, is printed and within 5%
     * (bfloat16's unit roundoff is 2⁻⁸ ≈ 0.39% per rounding; see {@code MitNetworkTest} for the same check on MiT).
     */
    @Test
    void bfloat16ForwardOfTheReferenceWeightsStaysNearFloat32() throws Exception {
        try (SafeTensorsFile g = SafeTensorsFile.open(FIXTURES.resolve("pvtv2-b0.io.safetensors")); NDManager m = engine.newBaseManager();
             SegmentationNetwork net = new PvtBackbone().build("pvtv2-b0", Map.of("num_classes", g.info("logits").shape()[1]), m, 0)) {
            net.load(FIXTURES.resolve("pvtv2-b0.weights.safetensors"), LoadMode.STRICT);
            NDArray input = g.read("input", m);
            TapValues fp32 = net.forward(input, false), bf16;
            try (CastWeights weights = new CastWeights(net.parameters().values().stream().map(Parameter::getArray).toList(), DataType.BFLOAT16);
                 CastWeights.Scope open = weights.open()) {
                bf16 = net.forward(CastWeights.to(input, DataType.BFLOAT16), false);
            }
            for (String name : fp32.values().keySet()) {
                NDArray expected = fp32.get(name), got = CastWeights.toFloat32(bf16.get(name));
                double deviation = expected.sub(got).abs().max().getFloat() / expected.abs().max().getFloat();
                System.out.printf("pvtv2-b0 bf16 vs fp32 on the reference weights: %-10s max |Δ| = %.2f%% of max |tap|%n", name, 100 * deviation);
                assertTrue(deviation > 0 && deviation <= 0.05, name + ": " + deviation);
            }
        }
    }
}
