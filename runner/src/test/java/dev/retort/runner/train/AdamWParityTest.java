package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.retort.api.parity.ParityComputation;
import dev.retort.runtime.DjlRuntime;
import dev.retort.safetensors.SafeTensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run's AdamW against PyTorch's {@code torch.optim.AdamW} trajectories ({@code adamw-parity}): every parameter after
 * every step and the final moments of every set, within the fixture's bar 1e-6·(1 + |expected|), with a resume from
 * checkpoint state halfway; every tensor of the file is either an input or compared. (kd:parity runs the same
 * computation through its checker: LauncherJarIT.)
 */
class AdamWParityTest {
    static final Path FIXTURE = Path.of(System.getProperty("retort.fixtures"), "adamw-parity");
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void followsPyTorchsTrajectoriesWithinTheFixturesBar() throws Exception {
        AdamWParity parity = new AdamWParity();
        ParityComputation.Bar bar = parity.tolerance().orElseThrow();
        assertEquals(new ParityComputation.Bar(1e-6, 1e-6), bar);
        Path file = FIXTURE.resolve("adamw.safetensors");
        try (NDManager m = engine.newBaseManager(); SafeTensorsFile golden = SafeTensorsFile.open(file)) {
            Map<String, NDArray> actual = parity.compute(file, file, m);
            Set<String> inputs = parity.inputs(file);
            Set<String> all = new TreeSet<>(actual.keySet());
            all.addAll(inputs);
            assertEquals(golden.tensors().keySet(), all, "every tensor of the file is an input or a result");
            double worst = 0;
            String worstName = "";
            for (Map.Entry<String, NDArray> e : actual.entrySet()) {
                float[] a = e.getValue().toFloatArray(), x = golden.readFloats(e.getKey());
                assertEquals(x.length, a.length, e.getKey());
                for (int i = 0; i < a.length; i++) {
                    double ratio = Math.abs((double) a[i] - x[i]) / (bar.atol() + bar.rtol() * Math.abs(x[i]));
                    if (!(ratio <= worst)) {
                        worst = ratio;
                        worstName = e.getKey() + "[" + i + "]";
                    }
                }
            }
            System.out.printf("adamw parity: %d tensors, worst %.3f of the bar at %s%n", actual.size(), worst, worstName);
            assertTrue(worst <= 1, "worst " + worst + " of the bar at " + worstName);
        }
    }

    /** Settings come from the file: a file whose metadata names no sets is refused by name, not run with defaults. */
    @Test
    void aFileWithoutItsSettingsIsRefused(@TempDir Path dir) throws Exception {
        Path file = FIXTURE.resolve("adamw.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        String text = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).replace("\"sets\"", "\"xets\"");
        Path copy = Files.write(dir.resolve("adamw.safetensors"), text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        try (NDManager m = engine.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class, () -> new AdamWParity().compute(copy, copy, m));
            assertTrue(e.getMessage().contains("__metadata__ has no 'sets'"), e.getMessage());
        }
    }
}
