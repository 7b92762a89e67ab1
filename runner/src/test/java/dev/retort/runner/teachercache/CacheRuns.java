package dev.retort.runner.teachercache;

import dev.retort.distill.csf.CsfDistiller;
import dev.retort.distill.pea.PeaDistiller;
import dev.retort.runner.train.RunSettings;
import dev.retort.runner.train.TestServices;
import dev.retort.runner.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Tiny real runs for the cache tests (a B2 → B0-shaped pair on 32×64 synthetic scenes, 8 training samples in batches
 * of 2: 4 steps an epoch, 8 steps over 2 epochs); also the main of the processes of the concurrent-writer test.
 */
final class CacheRuns {
    /** A finished run: its total and cross-entropy losses per step and what it logged. */
    record Done(List<Double> losses, List<Double> ce, String log, Throwable failure) {}

    private CacheRuns() {}

    static Map<String, Object> run(Path output, String modules, String cache) {
        Map<String, Object> run = TestServices.tinyRun(output);
        run.put("modules", modules);
        run.put("iterations", "8");
        run.put("eval_every", "8");
        run.put("teacher.cache", cache);
        return run;
    }

    static Done train(Map<String, Object> run) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(out, true, StandardCharsets.UTF_8);
        Trainer t = new Trainer("c", RunSettings.of(run), new TestServices(new CsfDistiller(), new PeaDistiller()), null, log);
        t.run();
        return new Done(t.lossHistory(), t.ceHistory(), out.toString(StandardCharsets.UTF_8), t.failure());
    }

    /** {@code output cacheDir}: trains csf,pea with the disk cache in {@code cacheDir}, prints its losses. */
    public static void main(String[] args) {
        Map<String, Object> run = run(Path.of(args[0]), "csf,pea", "disk");
        run.put("teacher.cache_dir", args[1]);
        Done d = train(run);
        System.out.println("LOG " + d.log().replace("\n", "\nLOG "));
        if (d.failure() != null) {
            d.failure().printStackTrace();
            System.exit(1);
        }
        System.out.println("LOSSES " + d.losses());
        System.out.println("CE " + d.ce());
        System.exit(0);
    }
}
