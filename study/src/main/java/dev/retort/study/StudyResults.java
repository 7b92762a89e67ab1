package dev.retort.study;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A study's results from its rows, for {@code kd:ablate} and the demo alike: {@code results.md} and
 * {@code results.csv} (per arm the mean ± standard deviation of mIoU over its seeds and every seed's value; with a
 * baseline each other arm's paired gain, verdict and p-value, {@link SeedStatistics}), and the plots
 * {@code loss.png}, {@code distill.png} (curves: the mean over seeds, error bars ± one standard deviation) and
 * {@code miou.png} (bars: mean ± std).
 */
public final class StudyResults {
    private StudyResults() {}

    /**
     * Writes the plots, then the tables.
     *
     * @param rows     every cell's row, grouped by arm in the order to show
     * @param baseline the arm the others are compared with, or {@code null}
     * @return the arms' summaries, as the tables show them
     */
    public static List<SeedStatistics.ArmSummary> write(Path output, List<Study.Row> rows, String baseline) throws IOException {
        List<SeedStatistics.ArmSummary> arms = SeedStatistics.summarise(rows, baseline);
        Files.createDirectories(output);
        String md = markdown(arms, baseline), csv = csv(arms);
        plots(output, arms);  // first: the table, what a reader trusts, is written only when everything else worked
        Files.writeString(output.resolve("results.md"), md);
        Files.writeString(output.resolve("results.csv"), csv);
        return arms;
    }

    static String markdown(List<SeedStatistics.ArmSummary> arms, String baseline) {
        boolean configured = arms.stream().anyMatch(a -> !a.first().configuration().isEmpty());
        StringBuilder md = new StringBuilder("| arm | name | modules |" + (configured ? " configuration |" : "")
                + " seeds | mIoU % (mean ± std) | mIoU % per seed | params (M) | GFLOPs | training-only params (M) | ms/step (training) | wall s | steps |\n");
        md.append("|---|---|---|").append(configured ? "---|" : "").append("---|---|---|---|---|---|---|---|---|\n");
        for (SeedStatistics.ArmSummary a : arms) {
            Study.Row r = a.first();
            md.append(String.format("| %d | %s | %s |%s %s | %s | %s | %.3f | %.3f | %.3f | %.1f | %.1f | %d |%n", r.arm(), cell(r.name()), cell(r.modules()),
                    configured ? " " + (r.configuration().isEmpty() ? "–" : cell(r.configuration())) + " |" : "",
                    a.seeds().stream().map(String::valueOf).collect(Collectors.joining(", ")), meanStd(a), perSeed(a.miou()),
                    r.params() / 1e6, r.gflops(), r.extraParams() / 1e6, a.meanOf(Study.Row::msPerStep), a.meanOf(Study.Row::wallSeconds), r.steps()));
        }
        md.append("\nmIoU: the best validation mIoU of each seed's run; mean ± sample standard deviation over the arm's seeds, and every"
                + " seed's value in seed order (none is left out). ms/step (training): mean time of a training step (data, forwards, backward,"
                + " optimizer); wall s: a cell's whole process, start-up and evaluations included; both averaged over seeds.\n");
        if (baseline != null) {
            md.append("\nPaired gain over '").append(cell(baseline)).append("' (mIoU points, arm − baseline seed by seed)\n\n")
                    .append("| arm | name | gain (mean ± std) | per seed | verdict | p (paired t-test) |\n|---|---|---|---|---|---|\n");
            for (SeedStatistics.ArmSummary a : arms) {
                Study.Row r = a.first();
                if (r.name().equals(baseline)) continue;
                SeedStatistics.Gain g = a.gain();
                if (g == null) {
                    md.append(String.format("| %d | %s | – | – | %s | – |%n", r.arm(), cell(r.name()), cell(a.noGain())));
                    continue;
                }
                md.append(String.format("| %d | %s | %+.2f ± %.2f | %s | %s | %s |%n", r.arm(), cell(r.name()), g.mean(), g.std(), perSeedSigned(g.differences()),
                        g.verdictText(), g.seeds() < SeedStatistics.MIN_SEEDS_FOR_TEST ? "– (below " + SeedStatistics.MIN_SEEDS_FOR_TEST + " seeds)"
                                : SeedStatistics.formatP(g.p())));
            }
            md.append("\nVerdict: the gain is larger than its spread when mean − std > 0, worse by more than the spread when mean + std < 0,"
                    + " else within it (one seed has no spread). p: two-sided paired t-test over the per-seed differences (n − 1 degrees of"
                    + " freedom), given from " + SeedStatistics.MIN_SEEDS_FOR_TEST + " seeds on; a sign test could not go below p = 0.25 with 3"
                    + " seeds.\n");
        }
        List<String> classes = classes(arms);
        if (!classes.isEmpty()) {
            md.append("\nPer-class IoU % (best evaluation, mean over seeds)\n\n| class |");
            arms.forEach(a -> md.append(' ').append(cell(a.first().name())).append(" |"));
            md.append("\n|---|").append("---|".repeat(arms.size())).append('\n');
            for (String c : classes) {
                md.append("| ").append(cell(c)).append(" |");
                arms.forEach(a -> {
                    double v = classMean(a, c);
                    md.append(Double.isNaN(v) ? " – |" : String.format(" %.2f |", 100 * v));
                });
                md.append('\n');
            }
        }
        return md.toString();
    }

    static String csv(List<SeedStatistics.ArmSummary> arms) {
        List<Long> seeds = new ArrayList<>();
        arms.forEach(a -> a.seeds().forEach(s -> {
            if (!seeds.contains(s)) seeds.add(s);
        }));
        List<String> classes = classes(arms);
        StringBuilder csv = new StringBuilder("arm,name,modules,configuration,seeds,miou_mean,miou_std");
        seeds.forEach(s -> csv.append(",miou:seed=").append(s));
        csv.append(",gain_mean,gain_std,gain_verdict,gain_p,params,gflops,extra_params,ms_per_step,wall_s,steps");
        classes.forEach(c -> csv.append(",iou:").append(c.replace(',', ' ')));
        csv.append('\n');
        for (SeedStatistics.ArmSummary a : arms) {
            Study.Row r = a.first();
            csv.append(String.format("%d,%s,%s,%s,%s,%.6f,%.6f", r.arm(), csvField(r.name()), csvField(r.modules()), csvField(r.configuration()),
                    a.seeds().stream().map(String::valueOf).collect(Collectors.joining(" ")), a.mean() / 100, a.std() / 100));
            for (long s : seeds) {
                int i = a.seeds().indexOf(s);
                csv.append(i < 0 ? "," : String.format(",%.6f", a.rows().get(i).miou()));
            }
            SeedStatistics.Gain g = a.gain();
            csv.append(g == null ? ",,,," : String.format(",%.6f,%.6f,%s,%s", g.mean() / 100, g.std() / 100, g.verdict().name().toLowerCase(),
                    Double.isNaN(g.p()) ? "" : String.format("%.6g", g.p())));
            csv.append(String.format(",%d,%.6f,%d,%.3f,%.3f,%d", r.params(), r.gflops(), r.extraParams(), a.meanOf(Study.Row::msPerStep),
                    a.meanOf(Study.Row::wallSeconds), r.steps()));
            classes.forEach(c -> {
                double v = classMean(a, c);
                csv.append(Double.isNaN(v) ? "," : String.format(",%.6f", v));
            });
            csv.append('\n');
        }
        return csv.toString();
    }

    /**
     * {@code loss.png}: each arm's task loss (cross-entropy), mean over seeds ± std; {@code distill.png}: each
     * distilling arm's weighted distillation loss (total − cross-entropy), the same way; {@code miou.png}: mean ± std.
     */
    static void plots(Path output, List<SeedStatistics.ArmSummary> arms) throws IOException {
        Map<String, List<double[]>> ce = new LinkedHashMap<>(), distill = new LinkedHashMap<>();
        for (SeedStatistics.ArmSummary a : arms) {
            ce.put(a.first().name(), SeedStatistics.meanCurve(a.rows().stream().map(Study.Row::ceLosses).toList()));
            if (a.first().modules().equals("none")) continue;
            distill.put(a.first().name(), SeedStatistics.meanCurve(a.rows().stream().map(StudyResults::distillation).toList()));
        }
        String seeds = seedsTitle(arms);
        Plots.curvesWithSpread(output.resolve("loss.png"), "task loss (cross-entropy) per arm, " + seeds, "cross-entropy", ce, 20);
        Plots.curvesWithSpread(output.resolve("distill.png"), "distillation loss per arm (weighted sum of the module terms), " + seeds, "total − cross-entropy", distill, 20);
        Plots.bars(output.resolve("miou.png"), "best validation mIoU per arm, " + seeds.replace("mean", "mean ± std"), "mIoU %",
                arms.stream().map(a -> a.first().name()).toList(), arms.stream().map(SeedStatistics.ArmSummary::mean).toList(),
                arms.stream().map(SeedStatistics.ArmSummary::std).toList());
    }

    private static String seedsTitle(List<SeedStatistics.ArmSummary> arms) {
        int most = arms.stream().mapToInt(a -> a.rows().size()).max().orElse(1);
        return most == 1 ? "one seed" : "mean over " + most + " seeds";
    }

    private static List<Double> distillation(Study.Row r) {
        List<Double> d = new ArrayList<>();
        for (int i = 0; i < Math.min(r.losses().size(), r.ceLosses().size()); i++) d.add(r.losses().get(i) - r.ceLosses().get(i));
        return d;
    }

    /** Every row's classes in the dataset's order; a class only some rows know goes after the others. */
    private static List<String> classes(List<SeedStatistics.ArmSummary> arms) {
        List<String> classes = new ArrayList<>();
        for (SeedStatistics.ArmSummary a : arms) {
            for (Study.Row r : a.rows()) r.iou().keySet().forEach(c -> {
                if (!classes.contains(c)) classes.add(c);
            });
        }
        return classes;
    }

    private static double classMean(SeedStatistics.ArmSummary a, String c) {
        return a.rows().stream().filter(r -> r.iou().containsKey(c)).mapToDouble(r -> r.iou().get(c)).average().orElse(Double.NaN);
    }

    private static String meanStd(SeedStatistics.ArmSummary a) {
        return a.rows().size() == 1 ? String.format("%.2f", a.mean()) : String.format("%.2f ± %.2f", a.mean(), a.std());
    }

    private static String perSeed(double[] v) {
        return join(v, x -> String.format("%.2f", x));
    }

    private static String perSeedSigned(double[] v) {
        return join(v, x -> String.format("%+.2f", x));
    }

    private static String join(double[] v, Function<Double, String> f) {
        List<String> parts = new ArrayList<>();
        for (double x : v) parts.add(f.apply(x));
        return String.join(" ", parts);
    }

    /** A CSV field, quoted when it holds a comma or a quote (RFC 4180). */
    static String csvField(String v) {
        return v.contains(",") || v.contains("\"") ? "\"" + v.replace("\"", "\"\"") + "\"" : v;
    }

    /** A Markdown table cell: a '|' in a name would end the cell. */
    static String cell(String s) {
        return s.replace("|", "\\|");
    }
}
