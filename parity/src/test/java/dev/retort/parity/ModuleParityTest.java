package dev.retort.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.distill.Distiller;
import dev.retort.api.parity.ParityCase;
import dev.retort.api.parity.ParityCases;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.csf.CsfParity;
import dev.retort.distill.ea.EaDistiller;
import dev.retort.distill.ea.EaParity;
import dev.retort.distill.glmixer.GlMixerDistiller;
import dev.retort.distill.glmixer.GlMixerParity;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.distill.pea.PeaParity;
import dev.retort.nn.Tolerance;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.testing.EngineTest;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** CSF + HCL, PEA, GL-Mixer, EA (with the parity cases their bundles contribute) and the weighted CE against the reference's golden tensors. */
class ModuleParityTest extends EngineTest {
    static final String FIXTURE = "transkd-modules";
    /** What the four bundles register as ParityCases services. */
    static final List<ParityCase> CASES = java.util.stream.Stream.of(new CsfParity(), new PeaParity(), new GlMixerParity(), new EaParity())
            .map(ParityCases::cases).flatMap(List::stream).toList();
    static final Path FIXTURES = Path.of(System.getProperty("retort.fixtures"), "transkd-parity");

    @Test
    void everyOutputLossGradientAndRunningStatisticMatches() throws Exception {
        List<Distiller> distillers = List.of(new CsfDistiller(), new PeaDistiller(), new GlMixerDistiller(), new EaDistiller());
        ParityCheck.Report report = new ParityCheck(Tolerance.FIXTURES)
                .modules(FIXTURES, FIXTURE, CASES, name -> distillers.stream().filter(d -> d.name().equals(name)).findFirst(), engine);
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
        ParityCheck.Report report = new ParityCheck(Tolerance.FIXTURES).modules(FIXTURES, FIXTURE, CASES, name -> Optional.empty(), engine);
        assertTrue(report.problems().stream().anyMatch(p -> p.contains("no distiller service 'csf'")), report.problems().toString());
        assertTrue(!report.passed());
    }

    @Test
    void tensorsOfACaseWhoseBundleIsMissingAreAProblemNotASilentPass() throws Exception {
        List<Distiller> distillers = List.of(new CsfDistiller(), new PeaDistiller(), new GlMixerDistiller(), new EaDistiller());
        List<ParityCase> withoutGlMixer = CASES.stream().filter(c -> !c.group().equals("glmixer")).toList();
        ParityCheck.Report report = new ParityCheck(Tolerance.FIXTURES)
                .modules(FIXTURES, FIXTURE, withoutGlMixer, name -> distillers.stream().filter(d -> d.name().equals(name)).findFirst(), engine);
        assertEquals(List.of("glmixer.*: 4 tensor(s) that no parity case checks (cases known: csf, ea, pea); is the bundle that contributes it installed?"),
                report.problems());
        assertTrue(report.comparisons().stream().noneMatch(c -> c.tensor().startsWith("glmixer.")));
        assertTrue(!report.passed());
    }

    @Test
    void theFixtureIsNotTakenForABackboneVariantWhenACaseClaimsIt() throws Exception {
        assertEquals(List.of("mit-b0"), ParityCheck.backboneVariants(FIXTURES, CASES));
        assertEquals(List.of("mit-b0", FIXTURE), ParityCheck.backboneVariants(FIXTURES, List.of()));
        assertEquals(List.of(FIXTURE), ParityCheck.moduleFixtures(FIXTURES, CASES));
    }
}
