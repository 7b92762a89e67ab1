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
import java.util.Optional;
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

    @Descriptor("run the cells of an ablation file (every arm with every seed of 'seeds = …': same seed, data order and steps across arms)"
            + " and write results.md/.csv (mean ± std over seeds, every seed's value, paired gains over 'baseline = <arm>') and plots;"
            + " --cell N runs one cell (cells are numbered arm by arm: with 3 seeds cell 4 is the second arm's first seed; the SLURM array index),"
            + " --arm N [--seed S] the cells of arm N; a cell that has its row is not run again, one with a checkpoint resumes;"
            + " --merge joins the rows (fails naming the cells without one); --slurm submits the cells as an sbatch array and the merge as a job"
            + " that waits for it; --status DIR tells which cells are done, running, stopped or failed and why")
    public String ablate(@Descriptor("run only this cell (1 … arms × seeds, arm by arm)") @Parameter(names = "--cell", absentValue = "0") int cell,
                         @Descriptor("run only this arm (its number in the file), every seed unless --seed") @Parameter(names = "--arm", absentValue = "0") int arm,
                         @Descriptor("run only this seed (of the file's seeds)") @Parameter(names = "--seed", absentValue = "") String seed,
                         @Descriptor("only merge the rows already in the output folder") @Parameter(names = "--merge", presentValue = "true", absentValue = "false") boolean merge,
                         @Descriptor("output folder (default: ablation/<file name>)") @Parameter(names = "--out", absentValue = "") String out,
                         @Descriptor("submit to SLURM: an sbatch array of the cells and a merge job after it") @Parameter(names = "--slurm", presentValue = "true", absentValue = "false") boolean slurm,
                         @Descriptor("sbatch options for every cell's task, e.g. \"--partition=gpu --time=12:00:00 --gres=gpu:1 --cpus-per-task=8 --mem=32G --account=lab\"")
                         @Parameter(names = "--sbatch", absentValue = "") String sbatch,
                         @Descriptor("sbatch options for the merge job (default: those of --sbatch without GPU requests)") @Parameter(names = "--merge-sbatch", absentValue = "") String mergeSbatch,
                         @Descriptor("at most this many cells at once (the array's %N; 0: no limit)") @Parameter(names = "--throttle", absentValue = "0") int throttle,
                         @Descriptor("with --slurm: write the job scripts, submit nothing") @Parameter(names = "--dry-run", presentValue = "true", absentValue = "false") boolean dryRun,
                         @Descriptor("the cells of the study folder given (instead of an ablation file)") @Parameter(names = "--status", presentValue = "true", absentValue = "false") boolean status,
                         @Descriptor("ablation file (with --status: the study folder)") String file) throws IOException, InterruptedException {
        if (status) {
            Path dir = Path.of(file).toAbsolutePath();
            Path recorded = dir.resolve(StudyFolder.ABLATION);
            if (!Files.isRegularFile(recorded)) {
                throw new RetortConfigException(dir + " is not a study folder: it has no " + StudyFolder.ABLATION + " (kd:ablate --status takes the folder of kd:ablate --out)");
            }
            return StudyStatus.report(Study.read(recorded, dir, runner));
        }
        Path f = Path.of(file).toAbsolutePath();
        Path output = out.isEmpty() ? Path.of("ablation", f.getFileName().toString().replaceFirst("\\.[^.]*$", "")).toAbsolutePath() : Path.of(out).toAbsolutePath();
        Study.Ablation study = Study.read(f, output, runner);
        if (merge) return table(output, Study.merge(study));
        if (dryRun && !slurm) throw new RetortConfigException("--dry-run goes with --slurm (it writes the job scripts without submitting them)");
        if (slurm && (cell > 0 || arm > 0 || !seed.isEmpty())) throw new RetortConfigException("--slurm submits every cell; --cell, --arm and --seed run cells here");
        if (cell > 0 && (arm > 0 || !seed.isEmpty())) throw new RetortConfigException("give --cell N, or --arm N [--seed S], not both");
        StudyFolder.record(study);
        if (slurm) {
            SlurmStudy.Options options = new SlurmStudy.Options(SlurmStudy.words(sbatch), mergeSbatch.isBlank() ? null : SlurmStudy.words(mergeSbatch),
                    throttle, dryRun);
            return SlurmStudy.describe(study, SlurmStudy.submit(study, options, StudyFolder.retortCommand()));
        }
        Long s = seed.isEmpty() ? null : parseSeed(seed);
        List<Study.Cell> cells = cell > 0 ? List.of(study.cell(cell)) : arm > 0 ? study.cells(arm, null).stream().filter(c -> s == null || c.seed() == s).toList()
                : s != null ? study.cells().stream().filter(c -> c.seed() == s).toList() : study.cells();
        if (arm > 0 && s != null && cells.isEmpty()) study.cells(arm, s);  // says which seeds there are
        if (cells.isEmpty()) throw new RetortConfigException("no seed " + s + " in " + f.getFileName() + " (seeds: " + study.seeds() + ")");
        StringBuilder done = new StringBuilder();
        for (Study.Cell c : cells) {
            Optional<Study.Row> had = Study.existingRow(output, c);
            if (had.isPresent()) {
                String line = String.format("%s has its row (mIoU %.2f%%): not run again (delete %s to run it again)%n", c.label(), 100 * had.get().miou(),
                        Study.rowFile(output, c.arm().index(), c.seed()));
                System.out.print(line);
                done.append(line);
                continue;
            }
            System.out.printf("%s, %d of %d%n", c.label(), c.number(), study.cells().size());
            Study.Row row = Study.run(c, runner, context, false, output, System.out, null);
            done.append(String.format("%s: mIoU %.2f%%; row written to %s%n", c.label(), 100 * row.miou(), Study.rowFile(output, c.arm().index(), c.seed())));
        }
        if (cells.size() == study.cells().size()) return table(output, Study.merge(study));
        return done + "merge with: kd:ablate --merge --out " + output + " " + file + "\n";
    }

    private static long parseSeed(String seed) {
        try {
            return Long.parseLong(seed.strip());
        } catch (NumberFormatException e) {
            throw new RetortConfigException("--seed must be an integer, got '" + seed + "'");
        }
    }

    private static String table(Path output, List<Study.Row> rows) throws IOException {
        return Files.readString(output.resolve("results.md")) + "\nwritten to " + output + " (results.md, results.csv, loss.png, distill.png, miou.png)\n";
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
