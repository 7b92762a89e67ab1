package dev.retort.backbones.pvtv2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.ParameterSet;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import dev.retort.testing.EngineTest;
import dev.retort.testing.RetortAssertions;
import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PvtNetworkTest extends EngineTest {
    static final Path WEIGHTS = Path.of(System.getProperty("retort.fixtures"), "pvtv2-parity", "pvtv2-b0.weights.safetensors");
    static final Map<String, Object> TINY = Map.of("embed_dims", "8,16,24,32", "depths", "1,1,1,1", "num_heads", "1,2,3,4",
            "neck_channels", 16, "head_channels", 8, "num_classes", 5);
    final PvtBackbone backbone = new PvtBackbone();

    @TempDir
    Path dir;

    /**
     * Parameters as the fixtures' README (7,527,668 and 29,098,836 with 20 classes); the conv and linear weight products
     * at 3×512×1024 as its counter (summary.json: 47,339,536,384 and 82,925,584,384); and the mmcv-convention total,
     * which adds to those the conv biases, 2 per LayerNorm element, the head's ReLUs and its nn.Upsample outputs.
     */
    @Test
    void parametersAndMacsAt512x1024MatchTheReference() {
        ModelCost b0 = backbone.cost("pvtv2-b0", Map.of(), 512, 1024), b2 = backbone.cost("pvtv2-b2", Map.of(), 512, 1024);
        print(b0);
        print(b2);
        assertEquals(7_527_668, b0.parameters());
        assertEquals(29_098_836, b2.parameters());
        assertEquals(47_339_536_384L, weightMacs("pvtv2-b0"));
        assertEquals(82_925_584_384L, weightMacs("pvtv2-b2"));
        assertEquals(47_339_536_384L + mmcvExtras(new int[] {32, 64, 160, 256}, new int[] {2, 2, 2, 2}), b0.macs());
        assertEquals(82_925_584_384L + mmcvExtras(new int[] {64, 128, 320, 512}, new int[] {3, 4, 6, 3}), b2.macs());
        // Attention products, 2·n·n_kv·C per block (outside the convention): B0 reduces keys to 16×32 at every stage as MiT-B0 does.
        assertEquals(2 * (2L * 32768 * 512 * 32 + 2L * 8192 * 512 * 64 + 2L * 2048 * 512 * 160 + 2L * 512 * 512 * 256), b0.attentionMacs());
        assertEquals(List.of("stage 1", "stage 2", "stage 3", "stage 4", "neck", "head"), b0.parts().stream().map(ModelCost.Part::name).toList());
        assertArrayEquals(new long[] {1, 20, 128, 256}, b0.tapShapes().get("logits"));
        assertEquals(7_527_668, backbone.describe("pvtv2-b0", Map.of()).parameters());
        assertEquals(29_098_836, backbone.describe("pvtv2-b2", Map.of()).parameters());
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("pvtv2-b0", Map.of(), m, 1)) {
            assertEquals(7_527_668, net.spec().parameters());
            assertEquals(208, net.parameters().size());  // as many tensors as the reference state dict in the fixture
        }
    }

    private static long weightMacs(String variant) {
        return new PvtModel(PvtConfig.of(variant, Map.of())).tallies(512, 1024).values().stream().mapToLong(t -> t.weightMacs).sum();
    }

    /** What mmcv counts beyond conv/linear weight products at 3×512×1024 (stage maps 128×256 … 16×32), re-derived here. */
    private static long mmcvExtras(int[] dims, int[] depths) {
        long[] n = {128 * 256, 64 * 128, 32 * 64, 16 * 32};
        int[] sr = {8, 4, 2, 1}, mlp = {8, 8, 4, 4};
        long extra = 0;
        for (int s = 0; s < 4; s++) {
            long c = dims[s], kv = n[s] / ((long) sr[s] * sr[s]);
            extra += n[s] * c + 2 * n[s] * c;                      // patch-embedding conv bias, its LayerNorm
            long perBlock = 2 * (2 * n[s] * c)                     // norm1, norm2
                    + (sr[s] > 1 ? kv * c + 2 * kv * c : 0)        // sr conv bias, attention norm
                    + n[s] * c * mlp[s];                           // depth-wise conv bias
            extra += depths[s] * perBlock + 2 * n[s] * c;          // blocks, stage norm
            extra += 2 * n[s] * 256;                               // FPN lateral and output conv biases
        }
        long head = 0;
        for (int s = 0; s < 4; s++) {
            long positions = n[s];
            for (int k = 0; k < Math.max(1, s); k++) {
                head += 2 * positions * 128;                       // conv bias and ReLU
                if (s > 0) {
                    positions *= 4;
                    head += positions * 128;                       // nn.Upsample output
                }
            }
        }
        return extra + head + n[0] * 20;                           // conv_seg bias
    }

    private static void print(ModelCost c) {
        System.out.printf("%s at 3x%dx%d%n", c.variant(), c.height(), c.width());
        c.parts().forEach(p -> System.out.printf("  %-8s %,12d params %9.3f GMAC%n", p.name(), p.parameters(), p.macs() / 1e9));
        System.out.printf("  total    %,12d params %9.3f GMAC%n", c.parameters(), c.macs() / 1e9);
    }

    /** B2-Li replaces each r×r reduction conv by a 1×1 conv after 7×7 pooling, and stage 4 (r = 1) gains one with its norm. */
    @Test
    void b2LiDiffersFromB2ByItsLinearAttention() {
        long c1 = 64, c2 = 128, c3 = 320, c4 = 512;
        long expected = 3 * ((c1 * c1 + c1) - (64 * c1 * c1 + c1)) + 4 * ((c2 * c2 + c2) - (16 * c2 * c2 + c2))
                + 6 * ((c3 * c3 + c3) - (4 * c3 * c3 + c3)) + 3 * (c4 * c4 + c4 + 2 * c4);
        assertEquals(-2_809_344, expected);
        assertEquals(expected, backbone.describe("pvtv2-b2-li", Map.of()).parameters() - backbone.describe("pvtv2-b2", Map.of()).parameters());
        assertTrue(backbone.describe("pvtv2-b2-li", Map.of()).config().get("linear").equals(true));
    }

    @Test
    void adaptivePoolingAveragesTheReferenceCells() {
        // cell i of 10 → 7 covers floor(10i/7) … ceil(10(i+1)/7) − 1: {0,1} {1,2} {2,3,4} {4,5} {5,6,7} {7,8} {8,9}
        // and of 3 → 7: {0} {0} {0,1} {1} {1,2} {2} {2}
        double[] rowMeans = {0.5, 1.5, 3, 4.5, 6, 7.5, 8.5}, colMeans = {0, 0, 0.5, 1, 1.5, 2, 2};
        float[] values = new float[10 * 3];
        for (int r = 0; r < 10; r++) for (int c = 0; c < 3; c++) values[r * 3 + c] = 10 * r + c;
        try (NDManager m = engine.newBaseManager()) {
            float[] pooled = Attention.adaptiveAveragePool(m.create(values, new Shape(1, 1, 10, 3)), 7).toFloatArray();
            assertEquals(49, pooled.length);
            for (int i = 0; i < 7; i++) {
                for (int j = 0; j < 7; j++) assertEquals(10 * rowMeans[i] + colMeans[j], pooled[i * 7 + j], 1e-5, i + "," + j);
            }
        }
    }

    /** The top-down path on odd sizes: PyTorch's nearest takes source row floor(dst·3/5), i.e. rows 0,0,1,1,2. */
    @Test
    void theFpnAddsTheUpperLevelResizedByPyTorchsNearestRule() {
        try (NDManager m = engine.newBaseManager(); ParameterSet p = new ParameterSet(m, 0)) {
            Fpn fpn = Fpn.of("neck", new int[] {1, 1}, 1);
            fpn.declare(p);
            for (String conv : List.of("lateral_convs.0", "lateral_convs.1")) {
                p.assign("neck." + conv + ".conv.weight", new float[] {1});
                p.assign("neck." + conv + ".conv.bias", new float[] {0});
            }
            float[] centre = new float[9];
            centre[4] = 1;
            for (String conv : List.of("fpn_convs.0", "fpn_convs.1")) {
                p.assign("neck." + conv + ".conv.weight", centre);
                p.assign("neck." + conv + ".conv.bias", new float[] {0.5f});
            }
            NDArray lower = m.create(new float[] {10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, new Shape(1, 1, 5, 2));
            NDArray upper = m.create(new float[] {1, 2, 3}, new Shape(1, 1, 3, 1));
            List<NDArray> outs = fpn.forward(p, List.of(lower, upper));
            assertArrayEquals(new float[] {11.5f, 21.5f, 31.5f, 41.5f, 52.5f, 62.5f, 72.5f, 82.5f, 93.5f, 103.5f}, outs.get(0).toFloatArray());
            assertArrayEquals(new float[] {1.5f, 2.5f, 3.5f}, outs.get(1).toFloatArray());
        }
    }

    @Test
    void anyInputSizeWorksAndTapsMatchTheirDescriptionAndCost() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("pvtv2-b0", TINY, m, 1)) {
            TapValues taps = net.forward(m.randomUniform(0, 1, new Shape(1, 3, 65, 97)), false);
            ModelCost cost = backbone.cost("pvtv2-b0", TINY, 65, 97);
            for (TapSpec t : net.spec().taps().taps()) {
                NDArray a = taps.get(t.name());
                assertEquals(t.channels(), a.getShape().get(t.kind() == TapKind.MAP ? 1 : 2), t.name());
                assertArrayEquals(cost.tapShapes().get(t.name()), a.getShape().getShape(), t.name());
            }
            // 65 → 17 → 9 → 5 → 3 and 97 → 25 → 13 → 7 → 4 (out = floor((in + 2·(k/2) − k)/r) + 1)
            assertEquals(new Shape(1, 32, 3, 4), taps.get("features.4").getShape());
            assertEquals(new Shape(1, 5, 17, 25), taps.get("logits").getShape());
            assertEquals(new Shape(1, 12, 32), taps.get("embeds.4").getShape());
            assertEquals(13, taps.values().size());
        }
    }

    @Test
    void withoutTheLogitsNeitherTheNeckNorTheHeadRuns() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("pvtv2-b0", TINY, m, 3)) {
            NDArray image = m.randomUniform(0, 1, new Shape(2, 3, 65, 97));
            RetortAssertions.assertEncoderAloneGivesTheSameTaps(net, image);
        }
        ModelCost whole = backbone.cost("pvtv2-b0", TINY, 65, 97), encoder = backbone.cost("pvtv2-b0", TINY, 65, 97, Set.of(TapNames.embeds(1)));
        long neckAndHead = whole.parts().stream().filter(p -> p.name().equals("neck") || p.name().equals("head")).mapToLong(ModelCost.Part::macs).sum();
        assertTrue(neckAndHead > 0);
        assertEquals(whole.macs() - neckAndHead, encoder.macs());
        assertEquals(whole.parts().size() - 2, encoder.parts().size());
    }

    @Test
    void aTrainingStepProducesGradientsForEveryTrainableParameterAlsoWithLinearAttention() {
        for (String variant : List.of("pvtv2-b0", "pvtv2-b2-li")) {
            Map<String, Object> config = new HashMap<>(TINY);
            config.put("drop_path_rate", 0);  // with batch 2 a branch dropped for both samples would rightly get no gradient
            try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build(variant, config, m, 7)) {
                NDArray image = m.randomUniform(0, 1, new Shape(2, 3, 67, 45));
                try (GradientCollector c = engine.newGradientCollector()) {
                    NDArray logits = net.forward(image, true).get("logits");
                    c.backward(logits.logSoftmax(1).get(":, 0").mean().neg());
                }
                List<String> without = new ArrayList<>();
                for (Map.Entry<String, Parameter> e : net.parameters().entrySet()) {
                    assertTrue(e.getValue().requiresGradient(), e.getKey());  // no buffers: the FPN has no BatchNorm
                    if (!(e.getValue().getArray().getGradient().abs().sum().getFloat() > 0)) without.add(e.getKey());
                }
                assertEquals(List.of(), without, variant);
                assertEquals(variant.endsWith("li"), net.parameters().containsKey("backbone.block4.0.attn.sr.weight"), variant);
            }
        }
    }

    /**
     * Arrays the backward reads (the attention scale, the drop-path rescaling, the linear variant's pooling matrices)
     * stay alive however the garbage collector runs: the same gradients with a full collection before the backward.
     */
    @Test
    void gradientsAreTheSameWithAGarbageCollectionBetweenForwardAndBackward() throws InterruptedException {
        Map<String, Object> config = new HashMap<>(TINY);
        config.put("drop_path_rate", 0.2);
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork clean = backbone.build("pvtv2-b2-li", config, m, 3);
             SegmentationNetwork collected = backbone.build("pvtv2-b2-li", config, m, 3)) {
            NDArray image = m.randomUniform(0, 1, new Shape(2, 3, 64, 64));
            step(clean, image, false);
            step(collected, image, true);
            for (Map.Entry<String, Parameter> e : clean.parameters().entrySet()) {
                assertArrayEquals(e.getValue().getArray().getGradient().toFloatArray(),
                        collected.parameters().get(e.getKey()).getArray().getGradient().toFloatArray(), e.getKey());
            }
        }
    }

    private static void step(SegmentationNetwork net, NDArray image, boolean collectBeforeBackward) throws InterruptedException {
        engine.setRandomSeed(11);  // the same drop-path and dropout masks in both networks
        try (NDManager step = image.getManager().newSubManager(); GradientCollector c = engine.newGradientCollector()) {
            NDArray x = image.duplicate();
            x.attach(step);
            NDArray loss = net.forward(x, true).get("logits").logSoftmax(1).get(":, 0").mean().neg();
            if (collectBeforeBackward) {
                ReferenceQueue<Object> queue = new ReferenceQueue<>();
                for (int round = 0; round < 2; round++) {
                    PhantomReference<Object> sentinel = new PhantomReference<>(ByteBuffer.allocateDirect(4), queue);
                    System.gc();
                    assertTrue(queue.remove(60_000) != null, "a forced garbage collection released an unreachable direct buffer");
                    sentinel.clear();
                }
            }
            c.backward(loss);
        }
    }

    @Test
    void theSameSeedGivesTheSameInitialisationByTheReferenceRules() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork a = backbone.build("pvtv2-b0", Map.of(), m, 42);
             SegmentationNetwork b = backbone.build("pvtv2-b0", Map.of(), m, 42); SegmentationNetwork c = backbone.build("pvtv2-b0", Map.of(), m, 43)) {
            String key = "backbone.block2.0.attn.q.weight";
            assertArrayEquals(values(a, key), values(b, key));
            assertFalse(Arrays.equals(values(a, key), values(c, key)));
            assertEquals(0.02, rms(values(a, key)), 0.002);                                 // trunc-normal std 0.02
            assertEquals(Math.sqrt(2.0 / (9 * 256)), rms(values(a, "neck.fpn_convs.0.conv.weight")), 0.001);  // kaiming fan-out
            assertEquals(Math.sqrt(2.0 / (9 * 128)), rms(values(a, "head.scale_heads.3.4.conv.weight")), 0.002);
            assertEquals(0, rms(values(a, "head.scale_heads.3.4.conv.bias")));
            float[] seg = values(a, "head.conv_seg.weight");                                  // torch default U(±1/√128)
            double bound = 1 / Math.sqrt(128);
            assertTrue(Arrays.stream(toDouble(seg)).allMatch(x -> Math.abs(x) <= bound));
            assertEquals(bound / Math.sqrt(3), rms(seg), 0.004);
            assertTrue(rms(values(a, "head.conv_seg.bias")) > 0);
            assertEquals(1.0, rms(values(a, "backbone.norm4.weight")));
        }
    }

    @Test
    void savedWeightsLoadBackToTheSameOutputsUnderTheReferenceKeys() throws Exception {
        Path saved = dir.resolve("b0.safetensors");
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork original = backbone.build("pvtv2-b0", Map.of(), m, 0);
             SegmentationNetwork copy = backbone.build("pvtv2-b0", Map.of(), m, 99)) {
            original.load(WEIGHTS, LoadMode.STRICT);
            original.save(saved, "reference");
            assertEquals(208, copy.load(saved, LoadMode.STRICT).loaded());
            NDArray image = m.randomUniform(0, 1, new Shape(1, 3, 64, 96));
            assertArrayEquals(original.forward(image, false).get("logits").toFloatArray(), copy.forward(image, false).get("logits").toFloatArray());
            var hf = assertThrows(IllegalArgumentException.class, () -> original.save(dir.resolve("x.safetensors"), "hf"));
            assertTrue(hf.getMessage().contains("known: reference"), hf.getMessage());
            assertEquals(List.of("reference"), original.namings());
        }
        try (SafeTensorsFile a = SafeTensorsFile.open(WEIGHTS); SafeTensorsFile b = SafeTensorsFile.open(saved)) {
            assertEquals(new TreeSet<>(a.tensors().keySet()), new TreeSet<>(b.tensors().keySet()));
            assertArrayEquals(a.readFloats("head.scale_heads.3.4.conv.weight"), b.readFloats("head.scale_heads.3.4.conv.weight"));
            assertEquals("pvtv2-b0", b.metadata().get("retort.variant"));
        }
    }

    @Test
    void encoderOnlyLoadingTakesTheImageNetCheckpointAndDistillationCheckpointsGiveTheirStudent() throws Exception {
        Path imagenet = dir.resolve("pvt_v2_b0.safetensors"), kd = dir.resolve("kd.safetensors");
        SafeTensorsWriter in = new SafeTensorsWriter(), distill = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(WEIGHTS)) {
            for (String k : f.tensors().keySet()) {
                if (k.startsWith("backbone.")) in.add(k.substring("backbone.".length()), f.info(k).shape(), f.readFloats(k), DType.F32);
                distill.add("module.student." + k, f.info(k).shape(), f.readFloats(k), DType.F32);
            }
        }
        in.add("head.weight", new long[] {1000, 256}, new float[256_000], DType.F32);  // the ImageNet classifier
        in.add("head.bias", new long[] {1000}, new float[1000], DType.F32);
        in.write(imagenet);
        distill.add("module.skfs.0.conv1.0.weight", new long[] {2}, new float[2], DType.F32);  // a KD module: not the student
        distill.write(kd);
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("pvtv2-b0", Map.of(), m, 0)) {
            var strict = assertThrows(IllegalArgumentException.class, () -> net.load(imagenet, LoadMode.STRICT));
            assertTrue(strict.getMessage().contains("32 missing") && strict.getMessage().contains("neck.lateral_convs.0.conv.weight"), strict.getMessage());
            LoadReport r = net.load(imagenet, LoadMode.ENCODER_ONLY);
            assertEquals(176, r.loaded());
            assertEquals(new TreeSet<>(List.of("head.weight", "head.bias")), new TreeSet<>(r.unexpected()));
            assertTrue(r.warnings().get(0).contains("ImageNet"), r.warnings().toString());
            assertArrayEquals(readFloats(WEIGHTS, "backbone.block3.1.mlp.fc1.weight"), values(net, "backbone.block3.1.mlp.fc1.weight"));
            assertEquals(208, net.load(kd, LoadMode.STRICT).loaded());
        }
    }

    @Test
    void weightsOfAnotherVariantAreRejectedWithEveryMismatchNamedAndNothingChanged() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork b1 = backbone.build("pvtv2-b1", Map.of(), m, 0)) {
            float[] before = values(b1, "backbone.norm1.weight");
            var e = assertThrows(IllegalArgumentException.class, () -> b1.load(WEIGHTS, LoadMode.STRICT));
            assertTrue(e.getMessage().contains("pvtv2-b1") && e.getMessage().contains("mis-shaped")
                    && e.getMessage().contains("backbone.block1.0.attn.kv.weight: file [64, 32] vs network [128, 64]")
                    && e.getMessage().contains("more"), e.getMessage());
            assertArrayEquals(before, values(b1, "backbone.norm1.weight"));
        }
    }

    @Test
    void badInputIsRejectedClearly() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("pvtv2-b0", TINY, m, 0)) {
            var rank = assertThrows(IllegalArgumentException.class, () -> net.forward(m.zeros(new Shape(3, 64, 64)), false));
            assertTrue(rank.getMessage().contains("[B, 3, H, W]"), rank.getMessage());
            var channels = assertThrows(IllegalArgumentException.class, () -> net.forward(m.zeros(new Shape(1, 4, 64, 64)), false));
            assertTrue(channels.getMessage().contains("3 input channels"), channels.getMessage());
            var small = assertThrows(IllegalArgumentException.class, () -> net.forward(m.zeros(new Shape(1, 3, 16, 64)), false));
            assertTrue(small.getMessage().contains("attention reduction ratio 8"), small.getMessage());
            var ints = assertThrows(IllegalArgumentException.class, () -> net.forward(m.zeros(new Shape(1, 3, 64, 64), DataType.INT32), false));
            assertTrue(ints.getMessage().contains("floating-point"), ints.getMessage());
        }
        var variant = assertThrows(IllegalArgumentException.class, () -> backbone.describe("pvtv2-b9", Map.of()));
        assertTrue(variant.getMessage().contains("pvtv2-b0, pvtv2-b1, pvtv2-b2, pvtv2-b2-li"), variant.getMessage());
        var typo = assertThrows(IllegalArgumentException.class, () -> backbone.describe("pvtv2-b0", Map.of("embed_dim", "8")));
        assertTrue(typo.getMessage().contains("did you mean embed_dims"), typo.getMessage());
        var heads = assertThrows(IllegalArgumentException.class, () -> backbone.describe("pvtv2-b0", Map.of("num_heads", "3,2,5,8")));
        assertTrue(heads.getMessage().contains("not divisible"), heads.getMessage());
        var linear = assertThrows(IllegalArgumentException.class, () -> backbone.describe("pvtv2-b0", Map.of("linear", "yes")));
        assertTrue(linear.getMessage().contains("linear must be true or false"), linear.getMessage());
        var tooSmall = assertThrows(IllegalArgumentException.class, () -> backbone.cost("pvtv2-b0", Map.of(), 8, 512));
        assertTrue(tooSmall.getMessage().contains("8x512"), tooSmall.getMessage());
    }

    @Test
    void theServiceNamesItsFamilyAndVariants() {
        assertEquals("pvtv2", backbone.name());
        assertEquals(List.of("pvtv2-b0", "pvtv2-b1", "pvtv2-b2", "pvtv2-b2-li", "pvtv2-b3", "pvtv2-b4", "pvtv2-b5"), backbone.variants());
        // B5 is the one preset with MLP ratio 4 in every stage (TransKD's pvt_v2_b5)
        assertEquals("4,4,4,4", backbone.describe("pvtv2-b5", Map.of()).config().get("mlp_ratios"));
        assertEquals("3,6,40,3", backbone.describe("pvtv2-b5", Map.of()).config().get("depths"));
        // a 64×64 reduction conv in stage 1 instead of 8×8: 32·32·(64² − 8²) more weights in each of its 2 blocks
        assertEquals(7_527_668 + 2 * 32 * 32 * (64 * 64 - 8 * 8), backbone.describe("pvtv2-b0", Map.of("sr_ratios", "64,4,2,1")).parameters());
    }

    private static float[] values(SegmentationNetwork net, String key) {
        return net.parameters().get(key).getArray().toFloatArray();
    }

    private static float[] readFloats(Path file, String key) throws Exception {
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            return f.readFloats(key);
        }
    }

    private static double rms(float[] w) {
        return Math.sqrt(Arrays.stream(toDouble(w)).map(x -> x * x).average().orElseThrow());
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
