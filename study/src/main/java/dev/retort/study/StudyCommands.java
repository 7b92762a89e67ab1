package dev.retort.study;

import ai.djl.engine.Engine;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.Runner;
import dev.retort.nn.Keys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** kd:ablate, kd:demo and kd:bench. */
@Component(service = StudyCommands.class, property = {"osgi.command.scope=kd", "osgi.command.function=ablate",
        "osgi.command.function=demo", "osgi.command.function=bench"})
public class StudyCommands {
    @Reference
    Runner runner;

    @Reference(target = "(engine.name=PyTorch)")
    Engine engine;

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("run the arms of an ablation file (same seed, data order and steps) and write results.md/.csv and plots;"
            + " --arm N runs one arm (one process per arm on a cluster), --merge joins the rows of a finished study (fails naming the arms"
            + " without a row)")
    public String ablate(@Descriptor("run only this arm") @Parameter(names = "--arm", absentValue = "0") int arm,
                         @Descriptor("only merge the rows already in the output folder") @Parameter(names = "--merge", presentValue = "true", absentValue = "false") boolean merge,
                         @Descriptor("output folder (default: ablation/<file name>)") @Parameter(names = "--out", absentValue = "") String out,
                         @Descriptor("ablation file") String file) throws IOException, InterruptedException {
        Path f = Path.of(file).toAbsolutePath();
        Path output = out.isEmpty() ? Path.of("ablation", f.getFileName().toString().replaceFirst("\\.[^.]*$", "")).toAbsolutePath() : Path.of(out).toAbsolutePath();
        List<Study.Arm> arms = Study.arms(f, output, runner);
        if (merge) return table(output, Study.merge(output, arms));
        if (arm > 0) {
            Study.Arm a = arms.stream().filter(x -> x.index() == arm).findFirst()
                    .orElseThrow(() -> new RetortConfigException("no arm " + arm + " in " + f + " (arms: " + arms.stream().map(Study.Arm::index).toList() + ")"));
            Study.Row row = Study.run(a, runner, context, output, System.out);
            return String.format("arm %d (%s): mIoU %.2f%%; row written to %s; merge with kd:ablate --merge --out %s %s%n", a.index(), a.name(),
                    100 * row.miou(), output.resolve("rows"), output, file);
        }
        for (Study.Arm a : arms) {
            System.out.printf("arm %d/%d: %s%n", a.index(), arms.size(), a.name());
            Study.run(a, runner, context, output, System.out);
        }
        return table(output, Study.merge(output, arms));
    }

    private static String table(Path output, List<Study.Row> rows) throws IOException {
        return Files.readString(output.resolve("results.md")) + "\nwritten to " + output + " (results.md, results.csv, loss.png, miou.png)\n";
    }

    @Descriptor("the demo: on the synthetic city, a cached teacher (4,000 scenes) and a student with 100 labelled scenes, alone and"
            + " with TransKD-Base, 3 seeds each; prints mean ± std per arm and whether the gain is larger than its spread, and writes"
            + " plots; --scale below 1 is a smoke run whose figures mean nothing (0.05: about a minute)")
    public String demo(@Descriptor("output folder") @Parameter(names = "--out", absentValue = "retort-demo") String out,
                       @Descriptor("scale the student steps (1 = the demo; below 1 a smoke run)") @Parameter(names = "--scale", absentValue = "1") double scale)
            throws IOException, InterruptedException {
        return new Demo(runner, context, Path.of(out).toAbsolutePath(), scale, System.out).run();
    }

    @Descriptor("time per step split into teacher forward, student forward, module forward, backward and optimizer, images/s,"
            + " peak memory and utilisation (achieved GFLOP/s of the teacher forward and of the step against a dense matrix product"
            + " measured now), for a run file (default: TransKD-Base MiT-B2 -> MiT-B0, batch 2, synthetic data) at an input size;"
            + " --methods a,b,… runs each method alone and a student-only baseline and prints each module's forward and backward share")
    public String bench(@Descriptor("run file to benchmark") @Parameter(names = "--run", absentValue = "") String run,
                        @Descriptor("steps measured after warm-up") @Parameter(names = "--steps", absentValue = "5") int steps,
                        @Descriptor("override keys, e.g. teacher.precision=bf16,batch_size=4") @Parameter(names = "--set", absentValue = "") String set,
                        @Descriptor("one run per method alone, and a student-only run") @Parameter(names = "--methods", absentValue = "") String methods,
                        @Descriptor("input size HxW") String size) throws IOException, InterruptedException {
        int[] hw = parseSize(size);
        if (steps < 1) throw new RetortConfigException("--steps must be at least 1, got " + steps);
        Map<String, Object> settings = run.isEmpty() ? TrainBench.defaultRun() : runner.readRunFile(Path.of(run).toAbsolutePath());
        if (!set.isEmpty()) {
            Map<String, Object> overrides = Keys.overrides(set);
            runner.requireKnownKeys("--set", "", overrides.keySet());
            settings.putAll(overrides);
        }
        TrainBench bench = new TrainBench(runner, context, engine);
        if (methods.isEmpty()) return bench.run(settings, hw[0], hw[1], 2, steps);
        List<String> names = Arrays.stream(methods.split(",")).map(String::strip).filter(m -> !m.isEmpty()).toList();
        return bench.methods(settings, names, hw[0], hw[1], 2, steps, System.out);
    }

    /** {@code HxW} with positive integers. */
    static int[] parseSize(String size) {
        if (size.matches("\\s*[1-9]\\d{0,5}\\s*[xX]\\s*[1-9]\\d{0,5}\\s*")) {
            String[] hw = size.strip().split("\\s*[xX]\\s*");
            return new int[] {Integer.parseInt(hw[0]), Integer.parseInt(hw[1])};
        }
        throw new RetortConfigException("input size must be HxW with positive integers, e.g. 512x1024; got '" + size + "'");
    }

    @Descriptor("benchmark the default TransKD-Base pair at 128x256")
    public String bench() throws IOException, InterruptedException {
        return bench("", 5, "", "", "128x256");
    }
}
