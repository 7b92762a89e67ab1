package dev.retort.backbones.mit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.MiouConvention;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.CastWeights;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsException;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import dev.retort.testing.EngineTest;
import dev.retort.testing.RetortAssertions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MitNetworkTest extends EngineTest {
    static final Path WEIGHTS = Path.of(System.getProperty("retort.fixtures"), "transkd-parity", "mit-b0.weights.safetensors");
    static final Map<String, Object> TINY = Map.of("embed_dims", "8,16,24,32", "depths", "1,1,1,1", "num_heads", "1,2,3,4",
            "decoder_dim", 16, "num_classes", 5);
    final MitBackbone backbone = new MitBackbone();

    @TempDir
    Path dir;

    @Test
    void countsMatchTheReferenceAt512x1024() {
        ModelCost b0 = backbone.cost("mit-b0", Map.of(), 512, 1024);
        ModelCost b2 = backbone.cost("mit-b2", Map.of(), 512, 1024);
        assertEquals(3_719_284, b0.parameters());
        assertEquals(27_362_004, b2.parameters());
        assertEquals(13.67, b0.macs() / 1e9, 0.005);
        assertEquals(113.84, b2.macs() / 1e9, 0.005);
        // Attention products by hand, 2·n·n_kv·C per block: stage s has n = 128·256/4^(s-1) tokens, n_kv = 16·32 after
        // the r×r reduction (r = 8, 4, 2, 1), C = 32, 64, 160, 256, two blocks each.
        long b0Attention = 2 * (2L * 32768 * 512 * 32 + 2L * 8192 * 512 * 64 + 2L * 2048 * 512 * 160 + 2L * 512 * 512 * 256);
        assertEquals(4_160_749_568L, b0Attention);
        assertEquals(b0Attention, b0.attentionMacs());
        assertEquals(5, b0.parts().size());
        assertArrayEquals(new long[] {1, 20, 128, 256}, b0.tapShapes().get("logits"));
        assertEquals(3_719_284, backbone.describe("mit-b0", Map.of()).parameters());
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", Map.of(), m, 1)) {
            assertEquals(3_719_284, net.spec().parameters());
            assertEquals(191, net.parameters().size());  // as many tensors as the reference state dict in the fixture
        }
    }

    @Test
    void withoutTheLogitsTheEncoderAloneRunsAndGivesTheSameTaps() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", TINY, m, 3)) {
            NDArray image = m.randomUniform(0, 1, new Shape(2, 3, 64, 96));
            RetortAssertions.assertEncoderAloneGivesTheSameTaps(net, image);
            assertTrue(net.forward(image, false, Set.of(TapNames.LOGITS)).values().containsKey(TapNames.LOGITS));
        }
        ModelCost whole = backbone.cost("mit-b0", TINY, 64, 96), encoder = backbone.cost("mit-b0", TINY, 64, 96, Set.of(TapNames.features(4)));
        ModelCost.Part head = whole.parts().get(whole.parts().size() - 1);
        assertEquals("head", head.name());
        assertEquals(whole.macs() - head.macs(), encoder.macs(), "the cost leaves out the head, and only the head");
        assertEquals(whole.attentionMacs(), encoder.attentionMacs());
        assertFalse(encoder.tapShapes().containsKey(TapNames.LOGITS));
        assertEquals(whole.macs(), backbone.cost("mit-b0", TINY, 64, 96, Set.of(TapNames.LOGITS)).macs());
    }

    /** Forward taps against the reference's golden tensors (tolerance of the fixtures: 1e-4 + 1e-3·|expected|). */
    @Test
    void everyTapMatchesTheReferenceFixture() throws Exception {
        withReference((m, golden, net) -> {
            TapValues taps = net.forward(golden.read("input", m), false);
            int compared = 0;
            for (String name : golden.tensors().keySet()) {
                if (!taps.values().containsKey(name)) continue;
                float[] expected = golden.readFloats(name), actual = taps.get(name).toFloatArray();
                assertEquals(expected.length, actual.length, name);
                double maxAbs = 0;
                for (int i = 0; i < expected.length; i++) {
                    double err = Math.abs((double) actual[i] - expected[i]);
                    assertTrue(err <= 1e-4 + 1e-3 * Math.abs(expected[i]), name + "[" + i + "]: " + actual[i] + " vs " + expected[i]);
                    maxAbs = Math.max(maxAbs, err);
                }
                if (name.equals("logits")) System.out.printf("mit-b0 parity: logits max |err| = %.3e%n", maxAbs);
                compared++;
            }
            assertEquals(9, compared, "features.1-4, embeds.1-4 and logits");
        });
    }

    /** The reference MiT-B0 with the fixture's weights, and the fixture's tensors. */
    private void withReference(ReferenceCheck check) throws Exception {
        try (NDManager m = engine.newBaseManager(); SafeTensorsFile golden = SafeTensorsFile.open(WEIGHTS.resolveSibling("mit-b0.io.safetensors"));
             SegmentationNetwork net = backbone.build("mit-b0", Map.of(), m, 0)) {
            net.load(WEIGHTS, LoadMode.STRICT);
            check.run(m, golden, net);
        }
    }

    private interface ReferenceCheck {
        void run(NDManager m, SafeTensorsFile golden, SegmentationNetwork net) throws Exception;
    }

    /**
     * The reference weights run in bfloat16 the way a {@code teacher.precision = bf16} teacher does (weights cast
     * once, input cast, taps back to float32): every tap is printed with its largest deviation from the float32
     * forward, relative to the tap's largest magnitude. bfloat16's unit roundoff is 2⁻⁸ ≈ 0.39%; each of the ~40
     * layers on a path rounds once, most errors partly cancel, and the normalisations rescale them, so a few percent
     * is expected and 5% is the line past which a layer computes something else.
     */
    @Test
    void bfloat16ForwardOfTheReferenceWeightsStaysNearFloat32() throws Exception {
        withReference((m, golden, net) -> {
            NDArray input = golden.read("input", m);
            TapValues fp32 = net.forward(input, false);
            TapValues bf16;
            try (CastWeights weights = new CastWeights(net.parameters().values().stream().map(p -> p.getArray()).toList(), DataType.BFLOAT16);
                 CastWeights.Scope open = weights.open()) {
                bf16 = net.forward(CastWeights.to(input, DataType.BFLOAT16), false);
            }
            double worst = 0;
            for (String name : fp32.values().keySet()) {
                NDArray expected = fp32.get(name), got = CastWeights.toFloat32(bf16.get(name));
                double deviation = expected.sub(got).abs().max().getFloat() / expected.abs().max().getFloat();
                System.out.printf("mit-b0 bf16 vs fp32 on the reference weights: %-10s max |Δ| = %.2f%% of max |tap|%n", name, 100 * deviation);
                assertTrue(deviation > 0 && deviation <= 0.05, name + ": " + deviation);
                worst = Math.max(worst, deviation);
            }
            System.out.printf("mit-b0 bf16 vs fp32 on the reference weights: worst %.2f%%%n", 100 * worst);
        });
    }

    /**
     * One stage (8 channels, 2 blocks, 2 heads, no reduction, MLP ratio 1, 3×3 patches of stride 1) and a 4-wide
     * head over 2 classes on a 5×3 input, i.e. 15 tokens, counted by hand:
     * patch conv 8·27+8 = 224 params, 15·8·27 + 15·8 = 3360 MACs; each LayerNorm 16 params, 2·15·8 = 240 MACs;
     * per block q, proj, fc1, fc2 72 params / 960 MACs each, kv 144 / 1920, dwconv 80 / 15·8·9 + 15·8 = 1200.
     * Head: linear_c1 36 / 480, fuse conv 16 / 240, BN 8 / 120, ReLU 60 MACs, classifier 10 / 150.
     */
    @Test
    void aOneStageNetworksCostIsTheHandCount() {
        Map<String, Object> oneStage = Map.of("embed_dims", "8", "depths", "2", "num_heads", "2", "sr_ratios", "1", "mlp_ratios", "1",
                "patch_sizes", "3", "strides", "1", "decoder_dim", 4, "num_classes", 2);
        ModelCost cost = backbone.cost("mit-b0", oneStage, 5, 3);
        long blockParams = 2 * 16 + 4 * 72 + 144 + 80, blockMacs = 2 * 240 + 4 * 960 + 1920 + 1200;
        assertEquals(List.of(new ModelCost.Part("stage 1", 224 + 16 + 2 * blockParams + 16, 3360 + 240 + 2 * blockMacs + 240),
                new ModelCost.Part("head", 36 + 16 + 8 + 10, 480 + 240 + 120 + 60 + 150)), cost.parts());
        assertArrayEquals(new long[] {1, 15, 8}, cost.tapShapes().get("embeds.1"));
        assertArrayEquals(new long[] {1, 2, 5, 3}, cost.tapShapes().get("logits"));
    }

    /** The cost's parameters per part are the parameters the network creates under that part's names. */
    @Test
    void eachCostPartCountsTheParametersCreatedUnderItsNames() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b2", TINY, m, 1)) {
            long[] created = new long[5];
            net.parameters().forEach((name, p) -> {
                if (!p.requiresGradient()) return;
                Matcher stage = Pattern.compile("(?:patch_embed|block|norm)(\\d)\\..*").matcher(name);
                created[stage.matches() ? Integer.parseInt(stage.group(1)) - 1 : 4] += p.getArray().size();
            });
            List<ModelCost.Part> parts = backbone.cost("mit-b2", TINY, 64, 64).parts();
            for (int i = 0; i < 5; i++) assertEquals(created[i], parts.get(i).parameters(), parts.get(i).name());
        }
    }

    @Test
    void anyInputSizeTheConvArithmeticAllowsWorksAndTapsMatchTheirDescription() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", TINY, m, 1)) {
            NDArray image = m.randomUniform(0, 1, new Shape(1, 3, 65, 97));
            TapValues taps = net.forward(image, false);
            long[] sizes = {65, 97};
            for (TapSpec t : net.spec().taps().taps()) {
                NDArray a = taps.get(t.name());
                int channelAxis = t.kind() == dev.retort.api.tap.TapKind.MAP ? 1 : 2;
                assertEquals(t.channels(), a.getShape().get(channelAxis), t.name());
            }
            // 65 → 17 → 9 → 5 → 3 and 97 → 25 → 13 → 7 → 4 (out = floor((in + 2·(k/2) − k)/r) + 1)
            assertEquals(new Shape(1, 32, 3, 4), taps.get("features.4").getShape());
            assertEquals(new Shape(1, 5, 17, 25), taps.get("logits").getShape());
            assertEquals(new Shape(1, 12, 32), taps.get("embeds.4").getShape());
            assertTrue(Arrays.stream(sizes).allMatch(s -> s > 0));
        }
    }

    @Test
    void aTrainingStepProducesGradientsForEveryTrainableParameter() {
        // Without stochastic depth: with batch 2 a dropped branch for both samples would rightly get no gradient.
        Map<String, Object> noDropPath = new HashMap<>(TINY);
        noDropPath.put("drop_path_rate", 0);
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", noDropPath, m, 7)) {
            NDArray image = m.randomUniform(0, 1, new Shape(2, 3, 64, 64));
            try (GradientCollector c = engine.newGradientCollector()) {
                NDArray logits = net.forward(image, true).get("logits");
                c.backward(logits.logSoftmax(1).get(":, 0").mean().neg());
            }
            long withGradient = net.parameters().values().stream().filter(p -> p.requiresGradient())
                    .filter(p -> p.getArray().getGradient().abs().sum().getFloat() > 0).count();
            long trainable = net.parameters().values().stream().filter(p -> p.requiresGradient()).count();
            assertEquals(trainable, withGradient);
            assertFalse(net.parameters().get("linear_fuse.bn.running_mean").requiresGradient());
            // training mode moved the BatchNorm running mean away from its initial zeros
            assertNotEquals(0f, net.parameters().get("linear_fuse.bn.running_mean").getArray().abs().sum().getFloat());
        }
    }

    @Test
    void theSameSeedGivesTheSameInitialisation() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork a = backbone.build("mit-b0", TINY, m, 42);
             SegmentationNetwork b = backbone.build("mit-b0", TINY, m, 42); SegmentationNetwork c = backbone.build("mit-b0", TINY, m, 43)) {
            String key = "block2.0.attn.q.weight";
            assertArrayEquals(a.parameters().get(key).getArray().toFloatArray(), b.parameters().get(key).getArray().toFloatArray());
            assertFalse(Arrays.equals(a.parameters().get(key).getArray().toFloatArray(), c.parameters().get(key).getArray().toFloatArray()));
            // trunc-normal std 0.02
            float[] w = a.parameters().get(key).getArray().toFloatArray();
            double var = Arrays.stream(toDouble(w)).map(x -> x * x).average().orElseThrow();
            assertEquals(0.02, Math.sqrt(var), 0.005);
        }
    }

    @Test
    void hfNamingRoundTripGivesIdenticalOutputs() throws Exception {
        Path hf = dir.resolve("hf.safetensors");
        Path ref = dir.resolve("ref.safetensors");
        try (NDManager m = engine.newBaseManager();
             SegmentationNetwork original = backbone.build("mit-b0", Map.of(), m, 0);
             SegmentationNetwork copy = backbone.build("mit-b0", Map.of(), m, 99)) {
            LoadReport report = original.load(WEIGHTS, LoadMode.STRICT);
            assertEquals("reference", report.naming());
            assertEquals(191, report.loaded());
            original.save(hf, "hf");
            try (SafeTensorsFile f = SafeTensorsFile.open(hf)) {
                assertTrue(f.contains("segformer.encoder.block.2.1.attention.self.key.weight"));
                assertTrue(f.contains("segformer.encoder.block.2.1.attention.self.value.bias"));
                assertTrue(f.contains("decode_head.linear_fuse.weight"));
                assertTrue(f.contains("decode_head.batch_norm.running_var"));
                assertTrue(f.contains("decode_head.classifier.weight"));
                assertTrue(f.contains("segformer.encoder.layer_norm.3.weight"));
                assertFalse(f.tensors().keySet().stream().anyMatch(k -> k.contains("kv")));
            }
            assertEquals("hf", copy.load(hf, LoadMode.STRICT).naming());
            NDArray image = m.randomUniform(0, 1, new Shape(1, 3, 64, 128));
            assertArrayEquals(original.forward(image, false).get("logits").toFloatArray(),
                    copy.forward(image, false).get("logits").toFloatArray());
            copy.save(ref, "reference");
            try (SafeTensorsFile a = SafeTensorsFile.open(WEIGHTS); SafeTensorsFile b = SafeTensorsFile.open(ref)) {
                var saved = new java.util.TreeSet<>(b.tensors().keySet());
                assertTrue(saved.remove("linear_fuse.bn.num_batches_tracked"), "torch's strict load needs the BN counter");
                assertEquals(a.tensors().keySet(), saved);
                assertArrayEquals(a.readFloats("block3.1.attn.kv.weight"), b.readFloats("block3.1.attn.kv.weight"));
            }
        }
    }

    @Test
    void hfNamingIntoADirectoryWritesATransformersModelDirectory() throws Exception {
        Path model = java.nio.file.Files.createDirectories(dir.resolve("segformer-b0"));
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", Map.of(), m, 0)) {
            net.save(model, "hf");
        }
        var config = com.google.gson.JsonParser.parseString(Files.readString(model.resolve("config.json"))).getAsJsonObject();
        assertEquals("segformer", config.get("model_type").getAsString());
        assertEquals("[32,64,160,256]", config.get("hidden_sizes").toString());
        assertEquals(256, config.get("decoder_hidden_size").getAsInt());
        assertEquals(20, config.getAsJsonObject("id2label").size());
        try (SafeTensorsFile f = SafeTensorsFile.open(model.resolve("model.safetensors"))) {
            assertTrue(f.contains("segformer.encoder.patch_embeddings.0.proj.weight"));
        }
    }

    /** kd:model lists the taps in stage order, the same in every process. */
    @Test
    void tapShapesComeInStageOrder() {
        List<String> expected = new ArrayList<>();
        for (int s = 1; s <= 4; s++) expected.addAll(List.of("inputs." + s, "embeds." + s, "features." + s));
        expected.add("logits");
        assertEquals(expected, List.copyOf(backbone.cost("mit-b0", Map.of(), 512, 1024).tapShapes().keySet()));
    }

    /** A target that does not exist and has no .safetensors suffix is a model directory; the dataset names the classes. */
    @Test
    void hfNamingIntoANewFolderCreatesTheModelDirectoryWithTheDatasetsClassNames() throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 19; i++) names.add("c" + i);
        names.set(0, "road");
        float[] weights = new float[20];
        Arrays.fill(weights, 0, 19, 1f);
        DatasetInfo transkd = new DatasetInfo("cityscapes", names, 19, 20, weights, new int[19], MiouConvention.ALL_CLASSES);
        Path model = dir.resolve("new").resolve("b0-hf");
        Path file = dir.resolve("b0.safetensors");
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", Map.of(), m, 0)) {
            net.save(model, "hf", transkd);
            net.save(file, "hf", transkd);
            var five = assertThrows(IllegalArgumentException.class, () -> net.save(dir.resolve("x"), "hf",
                    new DatasetInfo("five", List.of("a", "b", "c", "d", "e"), 255, 5, new float[5], new int[5], MiouConvention.PRESENT_CLASSES)));
            assertTrue(five.getMessage().contains("20 outputs") && five.getMessage().contains("five labels 5"), five.getMessage());
            var refDir = assertThrows(IllegalArgumentException.class, () -> net.save(dir, "reference"));
            assertTrue(refDir.getMessage().contains("is a directory"), refDir.getMessage());
        }
        assertTrue(Files.isRegularFile(model.resolve("model.safetensors")), "the directory was created and holds the weights");
        assertTrue(Files.isRegularFile(file), "a .safetensors target stays one file");
        var config = com.google.gson.JsonParser.parseString(Files.readString(model.resolve("config.json"))).getAsJsonObject();
        var id2label = config.getAsJsonObject("id2label");
        assertEquals(20, id2label.size());
        assertEquals("road", id2label.get("0").getAsString());
        assertEquals("c18", id2label.get("18").getAsString());
        assertEquals("ignore", id2label.get("19").getAsString(), "the TransKD protocol's ignore channel");
        assertEquals(19, config.getAsJsonObject("label2id").get("ignore").getAsInt());
        assertEquals(19, config.get("semantic_loss_ignore_index").getAsInt());
    }

    @Test
    void weightsOfAnotherVariantAreRejectedWithEveryMismatchNamedAndNothingChanged() {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork b1 = backbone.build("mit-b1", Map.of(), m, 0)) {
            float[] before = b1.parameters().get("norm1.weight").getArray().toFloatArray();
            var e = assertThrows(IllegalArgumentException.class, () -> b1.load(WEIGHTS, LoadMode.STRICT));
            assertTrue(e.getMessage().contains("mit-b1") && e.getMessage().contains("mis-shaped")
                    && e.getMessage().contains("block1.0.attn.kv.weight: file [64, 32] vs network [128, 64]")
                    && e.getMessage().contains("more"), e.getMessage());
            assertArrayEquals(before, b1.parameters().get("norm1.weight").getArray().toFloatArray());
        }
    }

    @Test
    void encoderOnlyLoadingSkipsTheHeadAndStudentPrefixesAreStripped() throws Exception {
        Path file = dir.resolve("kd-checkpoint.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(WEIGHTS)) {
            for (String k : f.tensors().keySet()) {
                if (k.startsWith("linear_") || k.endsWith("num_batches_tracked")) continue;  // an encoder-only checkpoint
                w.add("module.student." + k, f.info(k).shape(), f.readFloats(k), DType.F32);
            }
        }
        w.add("module.skfs.0.conv1.0.weight", new long[] {2}, new float[2], DType.F32);  // a KD module: ignored
        w.add("module.student.head.weight", new long[] {1000, 256}, new float[256_000], DType.F32);  // ImageNet head
        w.write(file);
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", Map.of(), m, 0)) {
            assertThrows(IllegalArgumentException.class, () -> net.load(file, LoadMode.STRICT));
            LoadReport r = net.load(file, LoadMode.ENCODER_ONLY);
            assertEquals(176, r.loaded());
            assertEquals(java.util.List.of("module.student.head.weight"), r.unexpected());
            assertTrue(r.missing().isEmpty(), r.missing().toString());
        }
    }

    @Test
    void badInputIsRejectedClearly() throws Exception {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", TINY, m, 0)) {
            var rank = assertThrows(IllegalArgumentException.class, () -> net.forward(m.zeros(new Shape(3, 64, 64)), false));
            assertTrue(rank.getMessage().contains("[B, 3, H, W]"), rank.getMessage());
            var channels = assertThrows(IllegalArgumentException.class, () -> net.forward(m.zeros(new Shape(1, 4, 64, 64)), false));
            assertTrue(channels.getMessage().contains("3 input channels"), channels.getMessage());
            var small = assertThrows(IllegalArgumentException.class, () -> net.forward(m.zeros(new Shape(1, 3, 16, 32)), false));
            assertTrue(small.getMessage().contains("attention reduction ratio 8"), small.getMessage());
            var ints = assertThrows(IllegalArgumentException.class, () -> net.forward(m.zeros(new Shape(1, 3, 64, 64), DataType.INT32), false));
            assertTrue(ints.getMessage().contains("floating-point"), ints.getMessage());
        }
        var variant = assertThrows(IllegalArgumentException.class, () -> backbone.describe("mit-b9", Map.of()));
        assertTrue(variant.getMessage().contains("mit-b0, mit-b1"), variant.getMessage());
        var typo = assertThrows(IllegalArgumentException.class, () -> backbone.describe("mit-b0", Map.of("embed_dim", "8")));
        assertTrue(typo.getMessage().contains("embed_dim"), typo.getMessage());
        var heads = assertThrows(IllegalArgumentException.class, () -> backbone.describe("mit-b0", Map.of("num_heads", "3,2,5,8")));
        assertTrue(heads.getMessage().contains("not divisible"), heads.getMessage());

        Path truncated = dir.resolve("truncated.safetensors");
        byte[] bytes = Files.readAllBytes(WEIGHTS);
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", Map.of(), m, 0)) {
            var e = assertThrows(SafeTensorsException.class, () -> net.load(truncated, LoadMode.STRICT));
            assertTrue(e.getMessage().contains("truncated.safetensors"), e.getMessage());
        }
    }

    @Test
    void nanInWeightsLoadsWithAWarning() throws Exception {
        Path file = dir.resolve("nan.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(WEIGHTS)) {
            for (String k : f.tensors().keySet()) {
                if (k.endsWith("num_batches_tracked")) continue;
                float[] v = f.readFloats(k);
                if (k.equals("norm4.bias")) v[3] = Float.NaN;
                w.add(k, f.info(k).shape(), v, DType.F32);
            }
        }
        w.write(file);
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", Map.of(), m, 0)) {
            LoadReport r = net.load(file, LoadMode.STRICT);
            assertEquals(java.util.List.of("norm4.bias: 1 NaN or infinite values"), r.warnings());
        }
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
