package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.tap.TapNames;
import dev.retort.backbones.mit.MitBackbone;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.nn.ArrayScope;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a training step holds, pinned through the runner's own step (tiny MiT-B2 → MiT-B0 pair, csf + pea, drop path
 * on): after the teacher's forward the step holds the batch, the teacher taps the modules read and the copies of the
 * BatchNorm statistics, nothing of the teacher's intermediates; every array of a step is gone when the next one
 * begins (nothing accumulates in the run's manager: no result attached to a parameter's manager, no forgotten array);
 * and the step's high-water mark that {@code kd:bench} prints is the most the step held at a phase end.
 */
class StepMemoryTest {
    private static final int STEPS = 5;

    /** An array's shape as a list, for multiset comparisons. */
    private static List<Long> shape(NDArray a) {
        List<Long> s = new ArrayList<>(Arrays.stream(a.getShape().getShape()).boxed().toList());
        if (a.getDataType() == DataType.INT64) s.add(0, -64L);  // the labels, whose size is the dataset's label size
        return s;
    }

    @Test
    void aStepHoldsOnlyWhatItStillNeedsAndLeavesNothingBehind(@TempDir Path dir) throws Exception {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("run"));
        run.putAll(Map.of("modules", "csf,pea", "iterations", String.valueOf(STEPS), "eval_every", "1000", "student.drop_path_rate", "0.1"));
        Trainer t = new Trainer("memory", RunSettings.of(run), new TestServices(new CsfDistiller(), new PeaDistiller()), null,
                new PrintStream(PrintStream.nullOutputStream()));

        List<List<List<Long>>> afterTeacher = new ArrayList<>();  // per step: the shapes of what the step held after the teacher
        List<long[]> phaseBytes = Collections.synchronizedList(new ArrayList<>());  // {step (1-based), bytes}
        List<Integer> outsideCounts = new ArrayList<>();
        List<Long> outsideBytes = new ArrayList<>();
        Map<NDArray, Boolean> outsideAtStep3 = new IdentityHashMap<>();
        List<String> strangers = new ArrayList<>();
        long[] stepIndex = {0};
        t.timings().watch((phase, step) -> {
            List<NDArray> held = step.getManagedArrays();
            if (phase.equals("teacher forward")) stepIndex[0]++;
            phaseBytes.add(new long[] {stepIndex[0], ArrayScope.bytes(step)});
            if (!phase.equals("teacher forward")) return;
            afterTeacher.add(held.stream().map(StepMemoryTest::shape).toList());
            // everything the run's manager holds outside this step: must be the same arrays at every step from the third on
            // (the first steps make the optimizer's state)
            NDManager base = step.getParentManager();
            Map<NDArray, Boolean> mine = new IdentityHashMap<>();
            held.forEach(a -> mine.put(a, true));
            List<NDArray> outside = base.getManagedArrays().stream().filter(a -> !mine.containsKey(a)).toList();
            outsideCounts.add(outside.size());
            outsideBytes.add(outside.stream().mapToLong(a -> a.size() * a.getDataType().getNumOfBytes()).sum());
            if (stepIndex[0] == 3) outside.forEach(a -> outsideAtStep3.put(a, true));
            if (stepIndex[0] > 3) {
                for (NDArray a : outside) if (!outsideAtStep3.containsKey(a)) strangers.add("step " + stepIndex[0] + ": " + a.getShape() + " " + a.getName());
            }
        });
        t.resetTimingsAt(2);
        t.run();
        RunResult result = t.result();
        assertEquals(RunState.FINISHED, result.state(), String.valueOf(result.failure()));
        assertEquals(STEPS, afterTeacher.size(), "one teacher forward per step");

        // what the step must hold after the teacher's forward: images and labels, the teacher taps csf and pea read
        // (features.1–4 and embeds.1–4 of the tiny MiT-B2 at 32×64, batch 2), and one copy of each BatchNorm statistic
        Map<String, Object> teacher = new TreeMap<>(Map.of("embed_dims", "16,32,48,64", "depths", "1,1,1,1", "num_heads", "1,2,3,4",
                "decoder_dim", "32"));
        ModelCost cost = new MitBackbone().cost("mit-b2", teacher, 32, 64);
        List<List<Long>> expected = new ArrayList<>();
        expected.add(List.of(2L, 3L, 32L, 64L));  // images
        expected.add(List.of(-64L, 2L, 8L, 16L)); // labels (int64; the synthetic city's labels at 1/4 of the image size)
        for (int s = 1; s <= 4; s++) {
            for (String tap : List.of(TapNames.features(s), TapNames.embeds(s))) {
                long[] one = cost.tapShapes().get(tap).clone();
                one[0] = 2;
                expected.add(Arrays.stream(one).boxed().toList());
            }
        }
        long statistics;
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("run").resolve(Checkpointing.LAST))) {
            statistics = f.tensors().keySet().stream().filter(k -> k.endsWith(".running_mean") || k.endsWith(".running_var")).count();
        }
        assertTrue(statistics > 0, "the student's head and csf's cells have BatchNorm statistics");
        for (List<List<Long>> held : afterTeacher) {
            List<List<Long>> rest = new ArrayList<>(held);
            for (List<Long> e : expected) assertTrue(rest.remove(e), "the step holds " + e + " after the teacher's forward: " + held);
            assertEquals(statistics, rest.size(), "beside the batch and the taps only the BatchNorm statistics' copies remain: " + rest);
            assertTrue(rest.stream().allMatch(s -> s.size() == 1), "every other array is a statistic's copy: " + rest);
        }

        assertEquals(List.of(), strangers, "arrays left behind by a step in the run's manager");
        for (int i = 3; i < STEPS; i++) {
            assertEquals(outsideCounts.get(2), outsideCounts.get(i), "arrays outside the step at step " + (i + 1) + ": " + outsideCounts);
            assertEquals(outsideBytes.get(2), outsideBytes.get(i), "bytes outside the step at step " + (i + 1) + ": " + outsideBytes);
        }

        // the high-water mark carried to kd:bench is the most the timed steps held at a phase end
        // timings restart before the third step (0-based step 2)
        long max = phaseBytes.stream().filter(p -> p[0] >= 3).mapToLong(p -> p[1]).max().orElseThrow();
        assertEquals(max, result.stepArrayBytes(), "step array bytes: the phase samples were "
                + phaseBytes.stream().map(Arrays::toString).toList());
        long batchAndTaps = 0;
        for (List<Long> e : expected) batchAndTaps += e.stream().filter(d -> d > 0).reduce(1L, (a, b) -> a * b) * 4;
        assertTrue(result.stepArrayBytes() >= batchAndTaps, "at least the batch and the taps: " + result.stepArrayBytes() + " < " + batchAndTaps);
        assertFalse(new LinkedHashMap<>(result.stepPhases()).isEmpty());
    }
}
