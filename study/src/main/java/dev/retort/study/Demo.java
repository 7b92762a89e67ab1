package dev.retort.study;

import dev.retort.api.run.Runner;
import org.osgi.framework.BundleContext;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo: on 64×128 synthetic street scenes, a small MiT teacher (trained once, then cached in the user's cache
 * folder) and a smaller MiT student trained alone and with TransKD-Base (CSF + PEA) for the same steps, seed and
 * data order; prints the mIoU table and writes the study's plots.
 */
public final class Demo {
    static final int TEACHER_STEPS = 1200, STUDENT_STEPS = 600;
    static final Map<String, Object> COMMON = Map.ofEntries(Map.entry("dataset", "synthetic"), Map.entry("data.height", "64"),
            Map.entry("data.width", "128"), Map.entry("data.train_size", "4000"), Map.entry("data.val_size", "96"), Map.entry("batch_size", "8"),
            Map.entry("lr", "3e-4"), Map.entry("decay_per", "iteration"), Map.entry("seed", "7"), Map.entry("log_every", "20"),
            Map.entry("checkpoint_every", "0"));
    static final Map<String, Object> TEACHER = Map.of("teacher", "mit-b2", "teacher.embed_dims", "32,64,160,256", "teacher.depths", "2,2,2,2",
            "teacher.decoder_dim", "128");
    static final Map<String, Object> STUDENT = Map.of("student", "mit-b0", "student.embed_dims", "16,32,80,128", "student.depths", "1,1,1,1",
            "student.decoder_dim", "64");

    private final Runner runner;
    private final BundleContext context;
    private final Path out;
    private final double scale;
    private final PrintStream log;

    public Demo(Runner runner, BundleContext context, Path out, double scale, PrintStream log) {
        this.runner = runner;
        this.context = context;
        this.out = out;
        this.scale = scale;
        this.log = log;
    }

    public String run() throws IOException, InterruptedException {
        int teacherSteps = Math.max(20, (int) (TEACHER_STEPS * scale)), studentSteps = Math.max(10, (int) (STUDENT_STEPS * scale));
        Path cache = cacheDir().resolve(String.format("demo-teacher-%d.safetensors", teacherSteps));
        boolean cached = Files.exists(cache);
        log.printf("Retort demo: synthetic city 64x128, teacher %s (MiT 32-64-160-256, depth 2) %s, student (MiT 16-32-80-128, depth 1)"
                + " alone and with TransKD-Base, %d steps each. About %s on 2 idle cores%s. Output: %s%n",
                "mit-b2-shaped", cached ? "from the cache" : "trained first (" + teacherSteps + " steps)", studentSteps,
                expected(cached ? 0 : teacherSteps, studentSteps), cached ? "" : " (the teacher is cached for the next time)", out);
        if (scale < 1) log.println(smokeNote(teacherSteps, studentSteps));
        Files.createDirectories(out);
        List<Study.Row> rows = new ArrayList<>();
        Path teacherRun = out.resolve("teacher");
        if (!Files.exists(cache)) {
            Map<String, Object> t = new HashMap<>(COMMON);
            t.put("name", "teacher");
            t.put("student", TEACHER.get("teacher"));
            t.put("student.embed_dims", TEACHER.get("teacher.embed_dims"));
            t.put("student.depths", TEACHER.get("teacher.depths"));
            t.put("student.decoder_dim", TEACHER.get("teacher.decoder_dim"));
            t.put("modules", "none");
            t.put("iterations", String.valueOf(teacherSteps));
            t.put("decay_steps", String.valueOf(teacherSteps));
            t.put("eval_every", String.valueOf(studentSteps / 2));
            t.put("output", teacherRun.toString());
            Study.Row teacher = arm(0, "teacher", t);
            Files.createDirectories(cache.getParent());
            Files.copy(teacherRun.resolve("best.safetensors"), cache, StandardCopyOption.REPLACE_EXISTING);
            rows.add(teacher);
        } else {
            log.println("teacher: " + cache + " (cached; delete it to train the teacher again)");
        }
        Map<String, Object> base = new HashMap<>(COMMON);
        base.putAll(TEACHER);
        base.putAll(STUDENT);
        base.put("teacher.weights", cache.toString());
        base.put("iterations", String.valueOf(studentSteps));
        base.put("decay_steps", String.valueOf(studentSteps));
        base.put("eval_every", String.valueOf(studentSteps / 2));
        Map<String, Object> alone = new HashMap<>(base);
        alone.put("name", "student");
        alone.put("modules", "none");
        alone.put("output", out.resolve("student").toString());
        Map<String, Object> kd = new HashMap<>(base);
        kd.put("name", "student+TransKD-Base");
        kd.put("modules", "csf,pea");
        kd.put("output", out.resolve("transkd-base").toString());
        rows.add(arm(1, "student", alone));
        rows.add(arm(2, "student + TransKD-Base", kd));
        Study.writeResults(out, rows);
        StringBuilder table = new StringBuilder(String.format("%nRetort demo — synthetic city 64x128, validation mIoU (%d scenes, TransKD protocol)%n", 96));
        table.append(String.format("  %-26s %8s %10s %8s %8s%n", "network", "mIoU %", "params", "GMACs", "steps"));
        for (Study.Row r : rows) {
            table.append(String.format("  %-26s %8.2f %10s %8.3f %8d%n", r.name(), 100 * r.miou(), String.format("%,d", r.params()), r.gflops(), r.steps()));
        }
        table.append("  plots and tables: ").append(out).append(" (results.md, results.csv, loss.png, miou.png)\n");
        if (scale < 1) table.append("  ").append(smokeNote(teacherSteps, studentSteps)).append('\n');
        return table.toString();
    }

    /** Runs one arm; a demo run again replaces its own earlier runs in the output folder. */
    private Study.Row arm(int index, String name, Map<String, Object> description) throws IOException, InterruptedException {
        return Study.run(new Study.Arm(index, name, runner.plan(description)), runner, context, true, out, log);
    }

    /** The user's cache folder ({@code -Dretort.cache}, else $XDG_CACHE_HOME/retort or ~/.cache/retort), never the installation. */
    static Path cacheDir() {
        String set = System.getProperty("retort.cache");
        if (set != null && !set.isBlank()) return Path.of(set).toAbsolutePath();
        String xdg = System.getenv("XDG_CACHE_HOME");
        return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("retort").toAbsolutePath();
    }

    /** A scaled-down demo checks that the pipeline runs end to end; its figures are not results. */
    private String smokeNote(int teacherSteps, int studentSteps) {
        return String.format("SMOKE RUN (--scale %s): %d teacher and %d student steps are far too few to learn the scenes;"
                + " the mIoU figures only show that the pipeline runs and mean nothing about distillation (--scale 1 for the demo)",
                BigDecimal.valueOf(scale).stripTrailingZeros().toPlainString(), teacherSteps, studentSteps);
    }

    /**
     * Expected duration on 2 idle cores, from the demo's measured figures (start-up and evaluations included):
     * about 0.26 s per teacher step, 0.18 s per student step (both arms) and 20 s of start-up and evaluation
     * (measured on 2 idle cores: 9 min 32 s at scale 1, 46 s at scale 0.05).
     */
    static String expected(int teacherSteps, int studentSteps) {
        double seconds = 20 + 0.26 * teacherSteps + 2 * 0.18 * studentSteps;
        return seconds < 90 ? String.format("%d seconds", Math.round(seconds / 10) * 10) : String.format("%d minutes", Math.round(seconds / 60));
    }
}
