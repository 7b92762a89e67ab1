package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.EvaluationReport;
import dev.retort.api.run.EvaluationRequest;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunPlan;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.parity.ParityCheck;
import dev.retort.parity.TrajectoryParity;
import dev.retort.safetensors.SafeTensorsFile;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The official TransKD-Base training trajectory ({@code ../shared/fixtures/transkd-trajectory}) replayed on the
 * trainer {@code kd:train} uses — its module roster, objective, AdamW, BatchNorm in training mode — from the
 * reference's initial weights ({@code init}) on its recorded batches ({@code batch-file}): every loss term at every
 * step and every final tensor within the fixture's tolerance, but for the few that rounding noise alone moves (shown,
 * at most a tenth of them). (The OSGi test {@code TrajectoryParityTest} runs the same through {@code kd:parity} and the
 * Runner service.)
 */
class TrajectoryReplayTest {
    static final Path FIXTURE = Path.of(System.getProperty("retort.fixtures"), "transkd-trajectory");

    /** The api's Runner over a trainer with the test registry: start() runs the whole run in the caller's thread. */
    private static final class InProcessRunner implements Runner {
        final TestServices services = new TestServices(new CsfDistiller(), new PeaDistiller());

        @Override
        public TrainingRun start(RunRequest request) {
            Trainer t = new Trainer("replay", RunSettings.of(request.description()), services, request.resume(), request.console());
            services.onEvent = e -> request.listener().onEvent(e);
            t.run();
            t.complete();
            return t;
        }

        @Override
        public RunPlan plan(Map<String, ?> description) {
            return RunSettings.of(description).plan();
        }

        @Override
        public void requireKnownKeys(String owner, String prefix, Iterable<String> keys) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Map<String, Object> readRunFile(Path file) {
            throw new UnsupportedOperationException();
        }

        @Override
        public RunPlan planOf(Path checkpoint) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Optional<TrainingRun> current() {
            return Optional.empty();
        }

        @Override
        public EvaluationReport evaluate(EvaluationRequest request) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void everyLossTermAtEveryStepAndEveryFinalTensorMatchTheOfficialTrainingLoop() throws Exception {
        InProcessRunner runner = new InProcessRunner();
        ParityCheck.Report report = TrajectoryParity.run(FIXTURE, runner, null);
        System.out.print(ParityCheck.format(report));
        assertTrue(report.problems().isEmpty(), ParityCheck.format(report));
        long steps, terms, finals, counters;
        try (SafeTensorsFile expected = SafeTensorsFile.open(FIXTURE.resolve("expected.safetensors"))) {
            terms = expected.tensors().keySet().stream().filter(k -> k.startsWith("loss.")).count();
            finals = expected.tensors().keySet().stream().filter(k -> k.startsWith("final.") && !k.endsWith("num_batches_tracked")).count();
            counters = expected.tensors().keySet().stream().filter(k -> k.endsWith("num_batches_tracked")).count();
            steps = expected.tensors().keySet().stream().filter(k -> k.startsWith("loss.total.")).count();
        }
        assertEquals(terms + finals, report.comparisons().size(), "every loss term and every final tensor is compared");
        assertTrue(report.notes().stream().anyMatch(n -> n.contains(counters + " BatchNorm num_batches_tracked")), report.notes().toString());
        // the replay and the mirrored replay (each batch's samples in reverse order) report every step
        assertEquals(2 * steps, runner.services.events.stream().filter(e -> e.type() == RunEvent.Type.STEP).count());
        assertTrue(report.comparisons().stream().filter(c -> c.tensor().startsWith("loss.")).noneMatch(c -> c.noise()), "loss terms are always held to the bound");
        assertTrue(report.passed(), ParityCheck.format(report));
    }
}
