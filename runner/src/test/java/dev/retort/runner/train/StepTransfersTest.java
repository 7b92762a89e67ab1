package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.maskd.MaskdDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.nn.DeviceConstants;
import dev.retort.nn.HostTransfers;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training step meets the host three times, counted by {@link HostTransfers} in real tiny runs: the batch's images
 * and labels go up, one stacked array of loss terms and gradient flags comes back. Counted per step between the
 * runner's own STEP events (and, for a preparation phase, between its per-step log lines), independently of the
 * window {@code kd:bench} reads ({@link RunResult#stepTransfers()}), which must agree.
 */
class StepTransfersTest {
    @TempDir
    Path dir;

    private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());
    private static final HostTransfers.Count ONE_STEP = new HostTransfers.Count(2, 1, 0);

    /** TransKD's modules, drop path on in the student (dropout-like masks every step), the teacher cache off (the default). */
    private Map<String, Object> transKd(Path out) {
        Map<String, Object> run = TestServices.tinyRun(out);
        run.put("modules", "csf,pea");
        run.put("student.drop_path_rate", "0.1");
        run.put("iterations", "6");
        run.put("eval_every", "100");
        return run;
    }

    /** The transfers between consecutive STEP events (step k's event to step k+1's: one whole step of the loop). */
    private static List<HostTransfers.Count> perStep(TestServices s) {
        List<HostTransfers.Count> at = new ArrayList<>();
        s.onEvent = e -> {
            if (e.type() == RunEvent.Type.STEP) at.add(HostTransfers.count());
        };
        return at;
    }

    private static List<HostTransfers.Count> deltas(List<HostTransfers.Count> at) {
        List<HostTransfers.Count> d = new ArrayList<>();
        for (int i = 1; i < at.size(); i++) d.add(at.get(i).minus(at.get(i - 1)));
        return d;
    }

    @Test
    void aTransKdStepUploadsTheBatchAndReadsOnce() {
        TestServices s = new TestServices(new CsfDistiller(), new PeaDistiller());
        List<HostTransfers.Count> at = perStep(s);
        Trainer t = new Trainer("t", RunSettings.of(transKd(dir.resolve("a"))), s, null, QUIET);
        t.resetTimingsAt(1);
        t.run();
        assertEquals(RunState.FINISHED, t.status().state(), String.valueOf(t.failure()));
        assertEquals(6, at.size(), "a STEP event per step");
        // from the second step on (the first makes the device constants: pooling and resize matrices, once)
        assertEquals(List.of(ONE_STEP, ONE_STEP, ONE_STEP, ONE_STEP, ONE_STEP), deltas(at), "transfers of steps 2..6");
        assertTrue(DeviceConstants.size() > 0, "HCL's pooling matrices are device constants");
        assertEquals(Map.of("uploads", 2.0, "reads", 1.0, "syncs", 0.0), t.result().stepTransfers(), "the window kd:bench prints");
        assertTrue(t.lossHistory().stream().allMatch(Double::isFinite), t.lossHistory().toString());
    }

    @Test
    void theTeacherCacheAddsItsUploadsAndTheCountSeesThem() {
        Map<String, Object> plain = transKd(dir.resolve("plain")), cached = transKd(dir.resolve("cached"));
        cached.put("teacher.cache", "disk");  // (the memory cache keeps the taps on the device: no transfer)
        cached.put("teacher.cache_dir", dir.resolve("cache").toString());
        Trainer a = new Trainer("t", RunSettings.of(plain), new TestServices(new CsfDistiller(), new PeaDistiller()), null, QUIET);
        a.resetTimingsAt(1);
        a.run();
        Trainer b = new Trainer("t", RunSettings.of(cached), new TestServices(new CsfDistiller(), new PeaDistiller()), null, QUIET);
        b.resetTimingsAt(1);
        b.run();
        double uploads = b.result().stepTransfers().get("uploads"), reads = b.result().stepTransfers().get("reads");
        assertTrue(uploads >= 3.0, "the cached taps go up to the device each step: " + b.result().stepTransfers());
        assertTrue(reads > 1.0, "the first epoch reads the taps it stores: " + b.result().stepTransfers());
        assertEquals(RunState.FINISHED, a.status().state(), String.valueOf(a.failure()));
        assertEquals(RunState.FINISHED, b.status().state(), String.valueOf(b.failure()));
        assertEquals(Map.of("uploads", 2.0, "reads", 1.0, "syncs", 0.0), a.result().stepTransfers(), "the same run without the cache");
    }

    @Test
    void aPreparationStepStaysWithinThreeTransfers() {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("p"));
        run.put("modules", "maskd");
        run.put("module.maskd.prepare_steps", "5");
        run.put("iterations", "2");
        run.put("eval_every", "100");
        List<HostTransfers.Count> at = new ArrayList<>();
        Pattern stepLine = Pattern.compile("preparing maskd: step (\\d+)/5");
        PrintStream console = new PrintStream(new LineTap(line -> {
            if (stepLine.matcher(line).find()) at.add(HostTransfers.count());
        }), true, StandardCharsets.UTF_8);
        Trainer t = new Trainer("t", RunSettings.of(run), new TestServices(new MaskdDistiller()), null, console);
        t.run();
        assertEquals(RunState.FINISHED, t.status().state(), String.valueOf(t.failure()));
        assertEquals(5, at.size(), "a log line per preparation step");
        for (HostTransfers.Count d : deltas(at).subList(1, 4)) {
            assertTrue(d.transfers() <= 3 && d.syncs() == 0, "a preparation step: " + d);
        }
        assertEquals(ONE_STEP, deltas(at).get(3));
    }

    @Test
    void aNonFiniteGradientIsNamedAfterTheFlagSaysSo() {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("n"));
        run.put("modules", "root");
        run.put("iterations", "3");
        run.put("eval_every", "100");
        Trainer t = new Trainer("t", RunSettings.of(run), new TestServices(new SquareRootOfZero()), null, new PrintStream(log, true, StandardCharsets.UTF_8));
        t.run();
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(Double.isNaN(t.lossHistory().get(0)), "the step is skipped: " + t.lossHistory());
        Matcher m = Pattern.compile("non-finite gradients at step 0 \\(loss \\{ce=[0-9.]+, root=0\\.0, total=NaN\\}\\) in 1 parameters, e\\.g\\. (\\S+)").matcher(text);
        assertTrue(m.find(), text);
        assertEquals("modules.root.w", m.group(1));
    }

    /** A module whose loss is finite (√0 = 0) but whose gradient is not (d√w/dw at 0 is infinite). */
    static final class SquareRootOfZero implements Distiller {
        public String name() {
            return "root";
        }

        public String description() {
            return "test: finite loss, infinite gradient";
        }

        public DistillationModule build(DistillContext c) {
            ParameterSet params = new ParameterSet(c.manager(), 1);
            NDArray w = params.add("w", new Shape(1), (random, n) -> new float[n]);
            return new DistillationModule() {
                public String name() {
                    return "root";
                }

                public Map<String, Parameter> parameters() {
                    return params.asMap();
                }

                public List<LossTerm> forward(DistillStep step) {
                    return List.of(new LossTerm("root", 1, w.sqrt().sum()));
                }

                public void close() {
                    params.close();
                }
            };
        }
    }

    /** Hands each complete line written to it to a consumer. */
    private static final class LineTap extends OutputStream {
        private final java.util.function.Consumer<String> lines;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineTap(java.util.function.Consumer<String> lines) {
            this.lines = lines;
        }

        @Override
        public void write(int b) {
            if (b == '\n') {
                lines.accept(line.toString(StandardCharsets.UTF_8));
                line.reset();
            } else {
                line.write(b);
            }
        }
    }
}
