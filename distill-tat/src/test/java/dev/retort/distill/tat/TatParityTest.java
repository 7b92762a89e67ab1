package dev.retort.distill.tat;

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
 * TaT against the golden tensors of the official TaT-seg code: every tensor of {@code tat.io.safetensors} (both
 * BatchNorm modes: embeddings, terms, losses, gradients, running statistics after the forward) within
 * 1e-4 + 1e-3·|expected|.
 */
class TatParityTest extends EngineTest {
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "other-kd-parity");

    @Test
    void everyFixtureTensorMatchesTheOfficialCode() throws Exception {
        try (SafeTensorsFile weights = SafeTensorsFile.open(FIXTURES.resolve("tat.weights.safetensors"));
             SafeTensorsFile io = SafeTensorsFile.open(FIXTURES.resolve("tat.io.safetensors"));
             NDManager m = engine.newBaseManager()) {
            Map<String, NDArray> actual = TatParity.compute(weights, io, m);
            FixtureComparison comparison = new FixtureComparison(Tolerance.FIXTURES, "tat parity", TatParityTest::group);
            comparison.compareAll(io, actual, TatParity::isInput);
            comparison.print().assertPassed();
            int compared = comparison.compared();
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
