package dev.retort.distill.tat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.retort.runtime.DjlRuntime;
import dev.retort.safetensors.SafeTensorsFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TaT against the golden tensors of the official TaT-seg code: every tensor of {@code tat.io.safetensors} (both
 * BatchNorm modes: embeddings, terms, losses, gradients, running statistics after the forward) within
 * 1e-4 + 1e-3·|expected|.
 */
class TatParityTest {
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "other-kd-parity");
    static final double ATOL = 1e-4, RTOL = 1e-3;
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void everyFixtureTensorMatchesTheOfficialCode() throws Exception {
        try (SafeTensorsFile weights = SafeTensorsFile.open(FIXTURES.resolve("tat.weights.safetensors"));
             SafeTensorsFile io = SafeTensorsFile.open(FIXTURES.resolve("tat.io.safetensors"));
             NDManager m = engine.newBaseManager()) {
            Map<String, NDArray> actual = TatParity.compute(weights, io, m);
            List<String> failures = new ArrayList<>(), missing = new ArrayList<>();
            Map<String, double[]> groups = new TreeMap<>();  // group → worst ratio, worst abs
            int compared = 0;
            for (String name : io.tensors().keySet()) {
                if (TatParity.isInput(name)) continue;
                NDArray a = actual.get(name);
                if (a == null) {
                    missing.add(name);
                    continue;
                }
                float[] got = a.toType(DataType.FLOAT32, false).toFloatArray(), expected = io.readFloats(name);
                assertEquals(expected.length, got.length, name + ": element count");
                double worst = 0, worstAbs = 0;
                for (int i = 0; i < got.length; i++) {
                    double d = Math.abs((double) got[i] - expected[i]);
                    if (!Double.isFinite(d)) d = Double.POSITIVE_INFINITY;
                    worstAbs = Math.max(worstAbs, d);
                    worst = Math.max(worst, d / (ATOL + RTOL * Math.abs(expected[i])));
                }
                compared++;
                if (worst > 1) failures.add(name + ": max abs error " + worstAbs + " (" + worst + "× the bar)");
                double[] g = groups.computeIfAbsent(group(name), k -> new double[2]);
                g[0] = Math.max(g[0], worst);
                g[1] = Math.max(g[1], worstAbs);
            }
            groups.forEach((g, w) -> System.out.printf("tat parity %-28s worst %.3g of the bar, max abs error %.3g%n", g, w[0], w[1]));
            assertTrue(missing.isEmpty(), "not produced: " + missing);
            assertTrue(failures.isEmpty(), failures.size() + " of " + compared + " tensors out of tolerance:\n" + String.join("\n", failures));
            assertEquals(170, compared, "the 170 compared tensors of this fixture set");
        }
    }

    /** tat.batched.grad.stage1.embed_key.norm.bias → tat.batched.grad.norm; tat.perimage.s1.q → tat.perimage.q. */
    static String group(String name) {
        String[] p = name.split("\\.");
        String mode = p[0] + "." + p[1];
        return switch (p[2]) {
            case "grad" -> mode + ".grad." + (p[3].equals("student") ? "student" : p[5]);
            case "after" -> mode + ".after." + p[p.length - 1];
            case "loss" -> mode + ".loss";
            default -> mode + "." + p[3];
        };
    }
}
