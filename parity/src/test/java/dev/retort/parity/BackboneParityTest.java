package dev.retort.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import dev.retort.backbones.mit.MitBackbone;
import dev.retort.nn.Tolerance;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** MiT-B0 against the golden tensors of the reference implementation (../shared/fixtures/transkd-parity). */
class BackboneParityTest {
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "transkd-parity");
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void everyTapLogitAndGradientMatchesTheReference() throws Exception {
        ParityCheck.Report report = new ParityCheck(Tolerance.FIXTURES)
                .backbone(FIXTURES, "mit-b0", Optional.of(new MitBackbone()), engine);
        System.out.print(ParityCheck.format(report));
        assertTrue(report.problems().isEmpty(), report.problems().toString());
        int golden;
        try (var io = dev.retort.safetensors.SafeTensorsFile.open(FIXTURES.resolve("mit-b0.io.safetensors"))) {
            golden = io.tensors().size() - 2;  // all but input and grad_probe
        }
        assertEquals(golden, report.comparisons().size(), ParityCheck.format(report));
        assertTrue(report.passed(), ParityCheck.format(report));
    }
}
