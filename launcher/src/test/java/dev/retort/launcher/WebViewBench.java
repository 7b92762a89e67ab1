package dev.retort.launcher;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openqa.selenium.WebDriver;

/**
 * The web view's cost on the training loop, in one run: a tiny training with the view started, its steps timed (from
 * {@code metrics.jsonl}) in alternating phases with the page closed and open in headless Chromium. Prints figures; it
 * is a harness, never a timed test. Run (after {@code mvn -o install -DskipTests}):
 *
 * <pre>
 * mvn -o -q -pl launcher test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.retort.launcher.WebViewBench \
 *     -Dretort.jar=$PWD/launcher/target/retort.jar [-Dbench.steps=20 -Dbench.phases=8]
 * </pre>
 */
final class WebViewBench {
    private static final Pattern STEP = Pattern.compile("\"type\":\"STEP\",\"step\":(\\d+),.*?\"time\":\"([^\"]+)\"");

    private WebViewBench() {}

    public static void main(String[] args) throws Exception {
        int perPhase = Integer.getInteger("bench.steps", 20);
        int phaseCount = Integer.getInteger("bench.phases", 8);
        Path work = Files.createTempDirectory("retort-webbench");
        Path out = work.resolve("out");
        Files.writeString(work.resolve("bench.cfg"), String.join("\n", "name = bench", "output = " + out, "seed = 3",
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "dataset = synthetic", "data.height = 64", "data.width = 128", "data.train_size = 64", "data.val_size = 4",
                "modules = csf,pea", "batch_size = 2", "iterations = 1000000", "eval_every = 1000000", "decay_per = iteration",
                "log_every = 1", "threads = 1", ""));
        if (System.getProperty("DJL_CACHE_DIR") == null) System.setProperty("DJL_CACHE_DIR", Main.defaultCacheDir().toString());
        int port = WebViewIT.freePort();
        Process p = Retort.start(work, "--web=" + port, "kd:train", "bench.cfg");
        Path metrics = out.resolve("metrics.jsonl");
        List<long[]> phases = new ArrayList<>();  // {first step, last step, page open 0/1}
        WebDriver driver = null;
        try {
            long warm = awaitStep(metrics, 10, p);  // start-up and the first steps are not measured
            boolean open = false;
            long from = warm;
            for (int phase = 0; phase < phaseCount; phase++) {
                if (open && driver == null) {
                    driver = WebViewIT.chromium(work.resolve("profile"));
                    driver.get("http://127.0.0.1:" + port + "/");
                    from = awaitStep(metrics, lastStep(metrics) + 3, p);  // the page has loaded and replayed the history
                } else if (!open && driver != null) {
                    driver.quit();
                    driver = null;
                    from = awaitStep(metrics, lastStep(metrics) + 3, p);
                }
                long to = awaitStep(metrics, from + perPhase, p);
                phases.add(new long[] {from, to, open ? 1 : 0});
                open = !open;
            }
        } finally {
            if (driver != null) driver.quit();
            p.destroy();
            p.waitFor();
        }
        List<Instant> times = stepTimes(metrics);
        // per-step durations by condition; the median resists the other processes of a shared machine better than the mean
        List<Double> closed = new ArrayList<>(), opened = new ArrayList<>();
        System.out.println("phase  page    steps      mean ms/step");
        for (int i = 0; i < phases.size(); i++) {
            long[] ph = phases.get(i);
            List<Double> into = ph[2] == 1 ? opened : closed;
            for (long s = ph[0] + 1; s <= ph[1]; s++) into.add(Duration.between(times.get((int) s - 1), times.get((int) s)).toNanos() / 1e6);
            double ms = Duration.between(times.get((int) ph[0]), times.get((int) ph[1])).toNanos() / 1e6 / (ph[1] - ph[0]);
            System.out.printf("%5d  %-6s  %4d-%-4d  %8.1f%n", i + 1, ph[2] == 1 ? "open" : "closed", ph[0], ph[1], ms);
        }
        System.out.printf("page closed: mean %.1f, median %.1f ms/step; page open: mean %.1f, median %.1f ms/step%n",
                mean(closed), median(closed), mean(opened), median(opened));
        System.out.printf("ratio open/closed: mean %.3f, median %.3f (%d phases of %d steps; %d cores, load %s)%n",
                mean(opened) / mean(closed), median(opened) / median(closed), phases.size(), perPhase,
                Runtime.getRuntime().availableProcessors(), Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    private static double median(List<Double> v) {
        List<Double> s = v.stream().sorted().toList();
        int n = s.size();
        return n == 0 ? Double.NaN : n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** Time of each step's event, by step (index = step; steps not logged stay null). */
    private static List<Instant> stepTimes(Path metrics) throws Exception {
        List<Instant> t = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            Matcher m = STEP.matcher(line);
            if (!m.find()) continue;
            int step = Integer.parseInt(m.group(1));
            while (t.size() <= step) t.add(null);
            t.set(step, Instant.parse(m.group(2)));
        }
        return t;
    }

    private static long lastStep(Path metrics) throws Exception {
        if (!Files.exists(metrics)) return 0;
        List<Instant> t = stepTimes(metrics);
        return t.size() - 1;
    }

    private static long awaitStep(Path metrics, long step, Process p) throws Exception {
        while (p.isAlive()) {
            if (lastStep(metrics) >= step) return step;
            Thread.sleep(100);
        }
        throw new IllegalStateException("the run ended before step " + step + ": " + Files.readString(metrics.getParent().getParent().resolve("log.txt")));
    }
}
