package dev.retort.distill.tat;

import static dev.retort.testing.RetortAssertions.assertUsefulGradient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.distill.Probe;
import dev.retort.api.distill.Reconfiguration;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.distill.support.RandomTaps;
import dev.retort.nn.Ops;
import dev.retort.nn.Scalars;
import dev.retort.testing.TinyPairTest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** TaT on MiT-shaped taps: training through the roster and the objective, the maths by hand on odd sizes, configuration. */
class TatDistillerTest extends TinyPairTest {
    @ParameterizedTest
    @ValueSource(strings = {"batched", "perimage"})
    void aTinyTrainingThroughTheRosterLowersAFiniteLossWithGradientsEverywhere(String mode) {
        try (NDManager m = engine.newBaseManager()) {
            ModuleRoster roster = ModuleRoster.build(List.of(new ModuleRoster.Request(new TatDistiller(), Map.of("batch_norm", mode))), TEACHER, STUDENT, m, 7);
            assertEquals(4 * 15, roster.parameters().size(), "15 tensors per stage, as the official Distiller's state dict");
            assertTrue(roster.parameters().containsKey("modules.tat.stage3.embed_key.norm.running_var"));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64);
            TapValues student = RandomTaps.values(STUDENT, m, 2, 64, 64);
            List<NDArray> trained = new ArrayList<>();
            for (int s = 1; s <= 4; s++) trained.add(student.get(TapNames.features(s)));
            roster.parameters().values().stream().filter(Parameter::requiresGradient).forEach(p -> trained.add(p.getArray()));
            trained.forEach(a -> a.setRequiresGradient(true));
            float[] mean0 = roster.parameters().get("modules.tat.stage2.embed_value.norm.running_mean").getArray().toFloatArray();
            double first = 0, last = 0;
            for (int step = 0; step < 6; step++) {
                try (NDManager s = m.newSubManager()) {
                    Objective.Loss loss;
                    try (GradientCollector c = engine.newGradientCollector()) {
                        List<LossTerm> terms = roster.forward(teacher, student, true, s, Probe.NONE, new TrainingProgress(step, 6, 1, 1), null);
                        assertEquals(List.of("tat.s1.patchgroup", "tat.s1.anchor", "tat.s2.patchgroup", "tat.s2.anchor", "tat.s3.patchgroup", "tat.s3.anchor",
                                "tat.s4.patchgroup", "tat.s4.anchor"), terms.stream().map(LossTerm::name).toList());
                        assertEquals(0.4, terms.get(1).weight(), "α·γ_a of stage 1");
                        loss = Objective.compose(null, terms);
                        c.backward(loss.total());
                    }
                    double total = loss.values().get(Objective.TOTAL);
                    assertTrue(Double.isFinite(total) && total > 0, "loss " + total);
                    if (step == 0) {
                        first = total;
                        for (Map.Entry<String, Parameter> p : roster.parameters().entrySet()) {
                            // stage 4's anchor weight is 0, but its embeddings still learn through the patch-group term
                            if (p.getValue().requiresGradient()) assertUsefulGradient(p.getKey(), p.getValue().getArray().getGradient());
                        }
                        for (int st = 1; st <= 4; st++) assertUsefulGradient(TapNames.features(st), student.get(TapNames.features(st)).getGradient());
                    }
                    last = total;
                    for (NDArray a : trained) {
                        NDArray g = a.getGradient();
                        a.subi(Scalars.mul(g, 0.05));
                        g.set(new NDIndex("..."), 0f);
                    }
                }
            }
            assertTrue(last < first, "training lowers the loss: " + first + " -> " + last);
            float[] mean1 = roster.parameters().get("modules.tat.stage2.embed_value.norm.running_mean").getArray().toFloatArray();
            assertNotEquals(mean0[0], mean1[0], "training mode updates the running statistics");
        }
    }

    @Test
    void theTermsEqualTheOfficialDefinitionOnOddSizes() {
        // 1 image, C = 3, 7×10 map; grid 2×3 → patches 3×3 (the last row and column dropped), 2×3 = 6 patches;
        // 9 groups: d = 6·3/9 = 2 channels per group, so a group cuts through a patch's channels.
        try (NDManager m = engine.newBaseManager()) {
            int c = 3, h = 7, w = 10;
            NDArray q = m.randomNormal(new Shape(1, c, h, w)), k = m.randomNormal(new Shape(1, c, h, w));
            NDArray v = m.randomNormal(new Shape(1, c, h, w)), t = m.randomNormal(new Shape(1, c, h, w));
            float[] qa = q.toFloatArray(), ka = k.toFloatArray(), va = v.toFloatArray(), ta = t.toFloatArray();
            double expected = officialPatchGroup(qa, ka, va, ta, c, h, w, 2, 3, 9);
            assertEquals(expected, TatAttention.patchGroup(q, k, v, t, 2, 3, 9, 1).getFloat(), 1e-5 * Math.abs(expected));
            // anchors 3×4: kernel 2×2 → a 3×5 grid (not 3×4), the last row and column of the map dropped
            double anchor = officialAnchor(qa, ka, va, ta, c, h, w, 2, 2);
            assertEquals(anchor, TatAttention.anchorPoint(q, k, v, t, 3, 4, 1).getFloat(), 1e-5 * Math.abs(anchor));
            assertEquals(new Shape(1, c, 3, 5), TatAttention.pool(q, 2, 2).getShape());
            // grid 4×4 on 7 rows: patches of 1×2, so unfold makes 7×5 patches, not 4×4
            double many = officialPatchGroup(qa, ka, va, ta, c, h, w, 4, 4, 5);
            assertEquals(many, TatAttention.patchGroup(q, k, v, t, 4, 4, 5, 1).getFloat(), 1e-5 * Math.abs(many));
            var e = assertThrows(IllegalArgumentException.class, () -> TatAttention.patchGroup(q, k, v, t, 2, 3, 4, 2));
            assertEquals("tat stage 2: 4 groups do not divide the 2x3 patches × 3 channels of a 7x10 map (heads must divide patches·channels)", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> TatAttention.anchorPoint(q, k, v, t, 8, 4, 1));
        }
    }

    /**
     * The official patch-group term, element by element: unfold into floor(h/n)×floor(w/m) patches, channel index of the
     * stacked map = patch·C + c, head = channel / d, token = intra-patch position; softmax(Q·Kᵀ)·V against the teacher.
     */
    static double officialPatchGroup(float[] q, float[] k, float[] v, float[] t, int c, int h, int w, int n, int m, int heads) {
        int ph = h / n, pw = w / m, rows = h / ph, cols = w / pw, patches = rows * cols, channels = patches * c, d = channels / heads, tokens = ph * pw;
        double sum = 0;
        for (int head = 0; head < heads; head++) {
            double[][] qs = new double[tokens][d], ks = new double[tokens][d], vs = new double[tokens][d], ts = new double[tokens][d];
            for (int dd = 0; dd < d; dd++) {
                int stacked = head * d + dd, patch = stacked / c, ch = stacked % c, pr = patch / cols, pc = patch % cols;
                for (int x = 0; x < ph; x++) {
                    for (int y = 0; y < pw; y++) {
                        int at = ch * h * w + (pr * ph + x) * w + pc * pw + y;
                        qs[x * pw + y][dd] = q[at];
                        ks[x * pw + y][dd] = k[at];
                        vs[x * pw + y][dd] = v[at];
                        ts[x * pw + y][dd] = t[at];
                    }
                }
            }
            sum += squaredError(qs, ks, vs, ts);
        }
        return sum / ((double) channels * tokens);
    }

    /** The official anchor term: AvgPool2d(kernel = stride = kh×kw, floor mode), then one-group attention over the anchors. */
    static double officialAnchor(float[] q, float[] k, float[] v, float[] t, int c, int h, int w, int kh, int kw) {
        int gh = h / kh, gw = w / kw, tokens = gh * gw;
        double[][][] pooled = new double[4][tokens][c];
        float[][] maps = {q, k, v, t};
        for (int a = 0; a < 4; a++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < gh; i++) {
                    for (int j = 0; j < gw; j++) {
                        double s = 0;
                        for (int x = 0; x < kh; x++) for (int y = 0; y < kw; y++) s += maps[a][ch * h * w + (i * kh + x) * w + j * kw + y];
                        pooled[a][i * gw + j][ch] = s / (kh * kw);
                    }
                }
            }
        }
        return squaredError(pooled[0], pooled[1], pooled[2], pooled[3]) / ((double) tokens * c);
    }

    /** Σ over tokens and channels of (softmax_j(q_i·k_j)·v − t)². */
    private static double squaredError(double[][] q, double[][] k, double[][] v, double[][] t) {
        int n = q.length, d = q[0].length;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double[] logits = new double[n];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                for (int e = 0; e < d; e++) logits[j] += q[i][e] * k[j][e];
                max = Math.max(max, logits[j]);
            }
            double z = 0;
            for (int j = 0; j < n; j++) z += Math.exp(logits[j] - max);
            for (int e = 0; e < d; e++) {
                double out = 0;
                for (int j = 0; j < n; j++) out += Math.exp(logits[j] - max) / z * v[j][e];
                sum += (out - t[i][e]) * (out - t[i][e]);
            }
        }
        return sum;
    }

    @Test
    void perImageBatchNormNormalisesEachImageAloneAndUpdatesTheStatisticsPerImage() {
        try (NDManager m = engine.newBaseManager()) {
            Map<String, String> config = Map.of("stages", "4", "batch_norm", "perimage");
            DistillationModule perImage = new TatDistiller().build(new DistillContext(TEACHER, STUDENT, config, m, 1));
            DistillationModule batched = new TatDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of("stages", "4"), m, 1));
            TapValues teacher = RandomTaps.values(TEACHER, m, 3, 64, 64), student = RandomTaps.values(STUDENT, m, 3, 64, 64);
            Map<String, NDArray> a = new HashMap<>(), b = new HashMap<>();
            perImage.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE, a::put));
            batched.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE, b::put));
            // per image: each image's q has zero mean per channel (BN bias 0); batched: only the batch's
            NDArray q = a.get("tat.s4.q");
            float[] firstImageMeans = q.get("0:1").reshape(64, -1).mean(new int[] {1}).toFloatArray();
            for (float x : firstImageMeans) assertEquals(0, x, 1e-5);
            assertFalse(allNear(b.get("tat.s4.q").get("0:1").reshape(64, -1).mean(new int[] {1}).toFloatArray(), 1e-3));
            assertEquals(new Shape(3), a.get("tat.s4.patchgroup").getShape(), "one term per image");
            assertEquals(new Shape(3), a.get("tat.s4.loss_per_image").getShape());
            // three momentum-0.1 updates from 0: 1 − 0.9³ of the mean of the images' means, weighted 0.1·0.9^(2−b)
            NDArray x = Ops.conv2d(student.get(TapNames.features(4)), perImage.parameters().get("stage4.embed_query.conv2d.weight").getArray(),
                    null, 1, 0, 1);
            float[] perImageMeans = x.reshape(3, 64, -1).mean(new int[] {2}).toFloatArray();
            float expected = 0;
            for (int i = 0; i < 3; i++) expected = 0.9f * expected + 0.1f * perImageMeans[i * 64];
            assertEquals(expected, perImage.parameters().get("stage4.embed_query.norm.running_mean").getArray().toFloatArray()[0], 1e-6);
            // a 1×1 map has one value per channel in an image
            TapLayout t1 = RandomTaps.mit("t", 5, 16, 32, 48, 64), s1 = RandomTaps.mit("s", 5, 8, 16, 24, 32);
            TapValues tiny = RandomTaps.values(t1, m, 2, 32, 32), tinyS = RandomTaps.values(s1, m, 2, 32, 32);
            var e = assertThrows(IllegalArgumentException.class, () -> perImage.forward(new DistillStep(tiny, tinyS, true, m, PortRefiner.NONE)));
            assertEquals("tat stage 4: perimage BatchNorm needs more than one value per channel, the map has 1 (a larger input, or batch_norm = batched with a"
                    + " batch > 1)", e.getMessage());
        }
    }

    private static boolean allNear(float[] a, double tolerance) {
        for (float x : a) if (Math.abs(x) > tolerance) return false;
        return true;
    }

    @Test
    void anIdentityKeyHasNoKeyEmbeddingAndStillTrainsQueryAndValue() {
        try (NDManager m = engine.newBaseManager()) {
            DistillationModule module = new TatDistiller().build(new DistillContext(TEACHER, STUDENT, Map.of("key_embedding", "false", "stages", "3,4"), m, 1));
            assertEquals(List.of("stage3.embed_query.conv2d.weight", "stage3.embed_query.norm.weight", "stage3.embed_query.norm.bias",
                    "stage3.embed_query.norm.running_mean", "stage3.embed_query.norm.running_var", "stage3.embed_value.conv2d.weight"),
                    new ArrayList<>(module.parameters().keySet()).subList(0, 6));
            assertFalse(module.parameters().keySet().stream().anyMatch(k -> k.contains("embed_key")));
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64), student = RandomTaps.values(STUDENT, m, 2, 64, 64);
            try (GradientCollector c = engine.newGradientCollector()) {
                c.backward(Objective.total(null, module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE))));
            }
            assertUsefulGradient("query", module.parameters().get("stage3.embed_query.conv2d.weight").getArray().getGradient());
        }
    }

    @Test
    void badKeysAndValuesAreRejectedWithTheKeyNamed() {
        TatDistiller d = new TatDistiller();
        var typo = assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("anchor", "4x8")));
        assertEquals("tat: unknown key 'module.tat.anchor' (did you mean module.tat.anchors?); known keys: module.tat.anchors, module.tat.batch_norm,"
                + " module.tat.betas, module.tat.gammas, module.tat.heads, module.tat.key_embedding, module.tat.patch_grids, module.tat.stages,"
                + " module.tat.weight", typo.getMessage());
        assertEquals("tat: unknown key 'module.tat.batchnorm' (did you mean module.tat.batch_norm?); known keys: module.tat.anchors, module.tat.batch_norm,"
                + " module.tat.betas, module.tat.gammas, module.tat.heads, module.tat.key_embedding, module.tat.patch_grids, module.tat.stages,"
                + " module.tat.weight", assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("batchnorm", "batched"))).getMessage());
        assertEquals("tat: batch_norm must be batched or perimage, got 'per-image'",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("batch_norm", "per-image"))).getMessage());
        assertEquals("tat: patch_grids must be a list of grids such as 4x8,2x4,1x1,1x1, got '4by8,2x4,1x1,1x1'",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("patch_grids", "4by8,2x4,1x1,1x1"))).getMessage());
        assertEquals("tat: stage 4 has no value in heads (8,4,1 covers stages 1..3)",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("heads", "8,4,1"))).getMessage());
        assertEquals("tat: gammas must be a list of numbers >= 0, got '0.4,-1,1,0'",
                assertThrows(IllegalArgumentException.class, () -> d.validate(Map.of("gammas", "0.4,-1,1,0"))).getMessage());
        d.validate(Map.of("stages", "3,4", "batch_norm", "perimage", "weight", "0.5"));
        d.configure(Map.of("batchNorm", "sometimes"));
        assertEquals("dev.retort.distill.tat: batchNorm must be batched or perimage, got 'sometimes'", d.rejection().orElseThrow());
        d.configure(Map.of("batchNorm", "perimage", "keyEmbedding", "false", "enabled", "false"));
        assertFalse(d.enabled());
        assertEquals("target-aware transformer (patch groups + anchors), stages 1,2,3,4, per-image BatchNorm, θ identity, weight 1.0", d.description());
    }

    @Test
    void lossWeightsGridsAndBatchNormApplyInPlaceWhileStagesAndTheKeyRebuild() {
        try (NDManager m = engine.newBaseManager()) {
            TatDistiller d = new TatDistiller();
            DistillationModule module = d.build(new DistillContext(TEACHER, STUDENT, Map.of(), m, 1));
            Map<String, String> next = new LinkedHashMap<>();
            next.put("weight", "0.5");
            next.put("gammas", "0.4,0.5,1.0,0.25");
            next.put("batch_norm", "perimage");
            Reconfiguration r = module.reconfigure(new DistillContext(TEACHER, STUDENT, next, m, 1));
            assertTrue(r.inPlace());
            assertEquals("gammas 0.4,0.5,1.0,0.0 -> 0.4,0.5,1.0,0.25, batch_norm batched -> perimage, weight 1.0 -> 0.5", r.changes());
            TapValues teacher = RandomTaps.values(TEACHER, m, 2, 64, 64), student = RandomTaps.values(STUDENT, m, 2, 64, 64);
            List<LossTerm> terms = module.forward(new DistillStep(teacher, student, false, m, PortRefiner.NONE));
            assertEquals(0.125, terms.get(7).weight(), "α·γ_a of stage 4");
            Reconfiguration stages = module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("stages", "4"), m, 1));
            assertFalse(stages.inPlace());
            assertEquals("stages 1,2,3,4 -> 4 changes the parameter set", stages.changes());
            assertFalse(module.reconfigure(new DistillContext(TEACHER, STUDENT, Map.of("key_embedding", "false"), m, 1)).inPlace());
        }
    }

    @Test
    void aStudentStageOfAnotherSizeIsRefusedNamingBothSides() {
        TapLayout odd = new TapLayout("odd", 1, List.of(new TapSpec(TapNames.features(1), 8, 8, TapKind.MAP)));
        TapLayout teacher = new TapLayout("t", 1, List.of(new TapSpec(TapNames.features(1), 16, 4, TapKind.MAP)));
        try (NDManager m = engine.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class, () -> new TatDistiller().build(new DistillContext(teacher, odd, Map.of("stages", "1"), m, 1)));
            assertEquals("tat: stage 1: student odd features.1[MAP C=8 /8] and teacher t features.1[MAP C=16 /4] differ in spatial size; TaT attends between"
                    + " positions of the same map size", e.getMessage());
        }
    }
}
