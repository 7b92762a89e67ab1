package dev.retort.distill.maskd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.retort.nn.Tolerance;
import dev.retort.parity.ParityCheck;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.testing.EngineTest;
import dev.retort.testing.FixtureComparison;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every tensor of {@code other-kd-parity/maskd.io.safetensors} (forward values, losses, gradients, the preparation
 * phase's losses and token gradients) against this bundle, within 1e-4 + 1e-3·|expected| on every element.
 */
class MaskdParityTest extends EngineTest {
    static Path fixtures() {
        String dir = System.getProperty("retort.fixtures");
        assertTrue(dir != null, "the build sets retort.fixtures");
        Path p = Path.of(dir, "other-kd-parity");
        assertTrue(Files.isRegularFile(p.resolve("maskd.io.safetensors")), "fixtures in " + p);
        return p;
    }

    @Test
    void everyListedTensorMatchesTheOfficialCode() throws Exception {
        Path dir = fixtures();
        FixtureComparison comparison = new FixtureComparison(Tolerance.FIXTURES, "maskd parity", MaskdParityTest::group);
        try (NDManager m = engine.newBaseManager(); SafeTensorsFile golden = SafeTensorsFile.open(dir.resolve("maskd.io.safetensors"))) {
            Map<String, NDArray> computed = MaskdParity.compute(dir.resolve("maskd.weights.safetensors"), dir.resolve("maskd.io.safetensors"), m);
            comparison.compareAll(golden, computed, MaskdParity::isInput);
        }
        comparison.print().assertPassed();
        int compared = comparison.compared();
        assertTrue(compared >= 90, "compared " + compared + " tensors");
    }

    @Test
    void theRegisteredComputationPassesTheKdParityCheckerWithNoTensorLeftUnchecked() {
        ParityCheck.Report r = new ParityCheck(Tolerance.FIXTURES).computed(fixtures(), MaskdParity.FILE, List.of(new MaskdParityComputation()), engine);
        assertEquals(List.of(), r.problems());
        assertTrue(r.passed(), ParityCheck.format(r));
        assertEquals(93, r.comparisons().size(), ParityCheck.format(r));
        assertEquals(4, r.inputs().size(), "the stage probes are inputs: " + r.inputs());
        assertTrue(r.inputs().stream().allMatch(n -> n.startsWith("maskd.grad_probe.")), r.inputs().toString());
    }

    /** maskd.feat.kd1.grad.student.features.3 → maskd.feat.kd1.grad; maskd.seg.dice → maskd.seg.dice. */
    private static String group(String name) {
        String[] parts = name.split("\\.");
        int n = name.contains(".grad.") ? Arrays.asList(parts).indexOf("grad") + 1 : Math.min(parts.length, 3);
        if (name.matches("maskd\\.feat\\.aligned\\..*")) n = 3;
        if (name.matches("maskd\\.featw?\\.s\\d\\..*")) return String.join(".", parts[0], parts[1], "stage1." + parts[3]);
        if (name.matches("maskd\\.featw?\\.kd\\d\\.s\\d\\..*")) return String.join(".", parts[0], parts[1], parts[2], "mask");
        return String.join(".", Arrays.copyOf(parts, n));
    }
}
