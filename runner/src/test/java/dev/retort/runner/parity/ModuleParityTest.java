package dev.retort.runner.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import dev.retort.api.distill.Distiller;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.ea.EaDistiller;
import dev.retort.distill.glmixer.GlMixerDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.runtime.DjlRuntime;
import dev.retort.safetensors.SafeTensorsFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** CSF + HCL, PEA, GL-Mixer, EA and the weighted CE against the reference's golden tensors. */
class ModuleParityTest {
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "transkd-parity");
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @Test
    void everyOutputLossGradientAndRunningStatisticMatches() throws Exception {
        List<Distiller> distillers = List.of(new CsfDistiller(), new PeaDistiller(), new GlMixerDistiller(), new EaDistiller());
        ParityCheck.Report report = new ParityCheck(Tolerance.FIXTURES)
                .modules(FIXTURES, name -> distillers.stream().filter(d -> d.name().equals(name)).findFirst(), engine);
        System.out.print(ParityCheck.format(report));
        assertTrue(report.problems().isEmpty(), ParityCheck.format(report));
        int expected;
        try (SafeTensorsFile io = SafeTensorsFile.open(FIXTURES.resolve("transkd-modules.io.safetensors"))) {
            // everything but the inputs (input, student.*, teacher.*) and the CE inputs
            expected = (int) io.tensors().keySet().stream().filter(k -> !k.equals("input") && !k.startsWith("student.")
                    && !k.startsWith("teacher.") && !k.equals("ce.logits") && !k.equals("ce.labels") && !k.equals("ce.class_weights")).count();
        }
        // Every output, loss, gradient and the 22 csf.after.* BatchNorm running statistics (the weights file holds
        // the state before the training-mode forward) is compared.
        assertEquals(22, report.comparisons().stream().filter(c -> c.tensor().startsWith("csf.after.")).count(), ParityCheck.format(report));
        assertEquals(expected, report.comparisons().size(), ParityCheck.format(report));
        assertTrue(report.passed(), ParityCheck.format(report));
    }

    @Test
    void aMissingDistillerIsAProblemNotASilentPass() throws Exception {
        ParityCheck.Report report = new ParityCheck(Tolerance.FIXTURES).modules(FIXTURES, name -> Optional.empty(), engine);
        assertTrue(report.problems().stream().anyMatch(p -> p.contains("no distiller service 'csf'")), report.problems().toString());
        assertTrue(!report.passed());
    }
}
