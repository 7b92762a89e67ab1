package dev.retort.distill.cskd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
 * CSKD against the golden tensors of the official {@code CSKDLoss}: every tensor of {@code cskd.io.safetensors}
 * (decay ratios, teacher dense and global responses, fused targets, argmax labels exactly, losses and gradients of
 * the probe and logits variants at every progress value) within 1e-4 + 1e-3·|expected|.
 */
class CskdParityTest {
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "other-kd-parity");
    static final double ATOL = 1e-4, RTOL = 1e-3;
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void everyFixtureTensorMatchesTheOfficialCode() throws Exception {
        try (SafeTensorsFile weights = SafeTensorsFile.open(FIXTURES.resolve("cskd.weights.safetensors"));
             SafeTensorsFile io = SafeTensorsFile.open(FIXTURES.resolve("cskd.io.safetensors"));
             NDManager m = engine.newBaseManager()) {
            Map<String, NDArray> actual = CskdParity.compute(weights, io, m);
            List<String> failures = new ArrayList<>(), missing = new ArrayList<>();
            Map<String, double[]> groups = new TreeMap<>();
            int compared = 0;
            for (String name : io.tensors().keySet()) {
                if (CskdParity.isInput(name)) continue;
                NDArray a = actual.get(name);
                if (a == null) {
                    missing.add(name);
                    continue;
                }
                compared++;
                if (name.contains(".labels.")) {
                    assertArrayEquals(io.readLongs(name), a.toType(DataType.INT64, false).toLongArray(), name + ": argmax labels");
                    groups.computeIfAbsent("labels (exact)", k -> new double[2]);
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
                if (worst > 1) failures.add(name + ": max abs error " + worstAbs + " (" + worst + "× the bar)");
                double[] g = groups.computeIfAbsent(group(name), k -> new double[2]);
                g[0] = Math.max(g[0], worst);
                g[1] = Math.max(g[1], worstAbs);
            }
            groups.forEach((g, w) -> System.out.printf("cskd parity %-32s worst %.3g of the bar, max abs error %.3g%n", g, w[0], w[1]));
            assertTrue(missing.isEmpty(), "not produced: " + missing);
            assertTrue(failures.isEmpty(), failures.size() + " of " + compared + " tensors out of tolerance:\n" + String.join("\n", failures));
            assertEquals(52, compared, "the 52 compared tensors of this fixture set");
        }
    }

    /** cskd.s4.hard.p1.grad.head_dist.weight → cskd.s4.hard.grad.head_dist.weight; cskd.s4.target.p0 → cskd.s4.target. */
    static String group(String name) {
        return name.replaceAll("\\.p\\d+", "").replaceAll("soft_t\\d+", "soft");
    }
}
