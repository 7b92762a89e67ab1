package dev.retort.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import dev.retort.backbones.mit.MitBackbone;
import dev.retort.backbones.pvtv2.PvtBackbone;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * MiT-B0 ({@code ../shared/fixtures/transkd-parity}) and PVTv2-B0 + Semantic FPN ({@code pvtv2-parity} at 64×128 and
 * {@code pvtv2-parity-odd} at 88×120) against the golden tensors of the reference implementations, through the
 * comparison {@code kd:parity} runs.
 */
class BackboneParityTest {
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "transkd-parity");
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void everyTapLogitAndGradientMatchesTheReference() throws Exception {
        assertEveryTensorPasses(FIXTURES, "mit-b0", new MitBackbone());
    }

    /** The 88×120 set's stage maps (22×30, 11×15, 6×8, 3×4) are not halvings of each other: the FPN's and head's resizes are not ×2. */
    @ParameterizedTest
    @ValueSource(strings = {"pvtv2-parity", "pvtv2-parity-odd"})
    void pvtv2WithTheSemanticFpnMatchesTheOfficialCodeAtEvenAndOddSizes(String set) throws Exception {
        assertEveryTensorPasses(FIXTURES.resolveSibling(set), "pvtv2-b0", new PvtBackbone());
    }

    private static void assertEveryTensorPasses(Path dir, String variant, Backbone backbone) throws Exception {
        ParityCheck.Report report = new ParityCheck(Tolerance.FIXTURES).backbone(dir, variant, Optional.of(backbone), engine);
        System.out.print(ParityCheck.format(report));
        assertTrue(report.problems().isEmpty(), report.problems().toString());
        int golden;
        try (var io = dev.retort.safetensors.SafeTensorsFile.open(dir.resolve(variant + ".io.safetensors"))) {
            golden = io.tensors().size() - 2;  // all but input and grad_probe
        }
        assertEquals(golden, report.comparisons().size(), ParityCheck.format(report));
        assertTrue(report.passed(), ParityCheck.format(report));
    }
}
