package dev.retort.distill.cskd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.retort.nn.Tolerance;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.testing.EngineTest;
import dev.retort.testing.FixtureComparison;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * CSKD against the golden tensors of the official {@code CSKDLoss}: every tensor of {@code cskd.io.safetensors}
 * (decay ratios, teacher dense and global responses, fused targets, argmax labels exactly, losses and gradients of
 * the probe and logits variants at every progress value) within 1e-4 + 1e-3·|expected|.
 */
class CskdParityTest extends EngineTest {
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "other-kd-parity");

    @Test
    void everyFixtureTensorMatchesTheOfficialCode() throws Exception {
        try (SafeTensorsFile weights = SafeTensorsFile.open(FIXTURES.resolve("cskd.weights.safetensors"));
             SafeTensorsFile io = SafeTensorsFile.open(FIXTURES.resolve("cskd.io.safetensors"));
             NDManager m = engine.newBaseManager()) {
            Map<String, NDArray> actual = CskdParity.compute(weights, io, m);
            FixtureComparison comparison = new FixtureComparison(Tolerance.FIXTURES, "cskd parity", CskdParityTest::group);
            comparison.compareAll(io, actual, CskdParity::isInput);
            comparison.print().assertPassed();
            int compared = comparison.compared();
            assertEquals(52, compared, "the 52 compared tensors of this fixture set");
        }
    }

    /** cskd.s4.hard.p1.grad.head_dist.weight → cskd.s4.hard.grad.head_dist.weight; cskd.s4.target.p0 → cskd.s4.target. */
    static String group(String name) {
        return name.replaceAll("\\.p\\d+", "").replaceAll("soft_t\\d+", "soft");
    }
}
