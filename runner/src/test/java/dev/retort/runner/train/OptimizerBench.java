package dev.retort.runner.train;

import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The optimizer's share of a training step, per-operation AdamW (the former route) against the multi-tensor one, in one
 * process, alternating: TransKD-Base (MiT-B2 -> MiT-B0, csf + pea), batch 2, synthetic data. Prints figures; asserts
 * nothing about time. Run it alone: {@code OMP_NUM_THREADS=… mvn -pl runner test -Dtest=OptimizerBench
 * -Dbench.size=256x512 -Dbench.steps=5 -Dbench.rounds=2}.
 */
class OptimizerBench {
    @Test
    void perOperationAgainstMultiTensor() throws Exception {
        String[] hw = System.getProperty("bench.size", "256x512").split("x");
        int steps = Integer.getInteger("bench.steps", 5), warmup = 2, rounds = Integer.getInteger("bench.rounds", 2);
        Map<AdamW.Kernel, double[]> sums = new LinkedHashMap<>();  // step ms, optimizer ms, finite+zero ms (rest of the wall step)
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        for (int r = 0; r < rounds; r++) {
            for (AdamW.Kernel k : AdamW.Kernel.values()) {
                AdamW.kernel = k;
                Path out = Files.createTempDirectory("optimizer-bench");
                Map<String, Object> run = new LinkedHashMap<>(Map.of("name", "bench", "output", out.toString(), "teacher", "mit-b2", "student", "mit-b0",
                        "modules", "csf,pea", "dataset", "synthetic", "batch_size", "2", "data.height", hw[0], "data.width", hw[1]));
                run.putAll(Map.of("data.train_size", String.valueOf(2 * (warmup + steps)), "data.val_size", "2", "iterations", String.valueOf(warmup + steps),
                        "eval_every", "1000000", "eval_batches", "1", "log_every", "1000000", "decay_per", "iteration"));
                Trainer t = new Trainer("bench", RunSettings.of(run), new TestServices(new CsfDistiller(), new PeaDistiller()), null, quiet);
                t.resetTimingsAt(warmup);
                t.run();
                RunResult result = t.result();
                if (result.state() != RunState.FINISHED) throw new IllegalStateException("bench run " + k + ": " + result.state() + " " + result.failure());
                double wall = result.meanStepMillis(), optimizer = result.stepPhases().getOrDefault("optimizer", 0.0);
                double phases = result.stepPhases().values().stream().mapToDouble(Double::doubleValue).sum();
                System.out.printf("round %d %-14s step %8.1f ms (wall)  phases %8.1f ms  optimizer %7.1f ms  outside the phases (finite check) %6.1f ms  %s%n",
                        r + 1, k, wall, phases, optimizer, wall - phases, result.stepPhases());
                double[] s = sums.computeIfAbsent(k, x -> new double[3]);
                s[0] += wall / rounds;
                s[1] += optimizer / rounds;
                s[2] += (wall - phases) / rounds;
            }
        }
        AdamW.kernel = AdamW.Kernel.MULTI_TENSOR;
        System.out.printf("TransKD-Base B2->B0, batch 2, %sx%s, mean of %d steps after %d warm-up, %d rounds, threads %d%n", hw[0], hw[1], steps, warmup, rounds,
                Runtime.getRuntime().availableProcessors());
        sums.forEach((k, s) -> System.out.printf("  %-14s step %8.1f ms  optimizer %7.1f ms (%4.1f%%)  finite check %6.1f ms (%4.1f%%)%n", k, s[0], s[1], 100 * s[1] / s[0],
                s[2], 100 * s[2] / s[0]));
        double[] before = sums.get(AdamW.Kernel.PER_OPERATION), after = sums.get(AdamW.Kernel.MULTI_TENSOR);
        System.out.printf("  step after/before %.3f; optimizer + finite check after/before %.3f%n", after[0] / before[0], (after[1] + after[2]) / (before[1] + before[2]));
    }
}
