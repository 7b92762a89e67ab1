package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectService;

/** Configurations that cannot be used, and commands that cannot act, say so inside a real Felix framework. */
class ValidationTest extends FrameworkTest {
    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    private static final String PEA_REJECTED = "configuration rejected: dev.retort.distill.pea: weights must be a list of numbers, got 'abc'";

    @Test
    void aBadDistillerConfigurationIsShownAsRejectedAndARunThatNeedsTheModuleRefusesToStart(@TempDir Path dir) throws Exception {
        Path run = tinyRun(dir, "csf,pea");
        Configuration pea = configAdmin.getConfiguration("dev.retort.distill.pea", "?");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("weights", "abc");
        pea.update(props);
        try {
            String info = await("kd:info", s -> s.contains(PEA_REJECTED));
            assertTrue(info.contains("pea  patch-embedding alignment"), info);
            var refused = assertThrows(Exception.class, () -> kd("kd:train " + run));
            assertEquals("module pea: " + PEA_REJECTED, refused.getMessage());
        } finally {
            pea.delete();
        }
        assertFalse(await("kd:info", s -> !s.contains("configuration rejected")).contains("rejected"));

        Configuration csf = configAdmin.getConfiguration("dev.retort.distill.csf", "?");
        Dictionary<String, Object> bad = new Hashtable<>();
        bad.put("midChannels", "abc");
        csf.update(bad);
        try {
            String modules = await("kd:modules", s -> s.contains("configuration rejected"));
            assertTrue(modules.contains("csf        configuration rejected: dev.retort.distill.csf: midChannels must be an integer, got 'abc'"), modules);
            assertFalse(modules.contains("csf.hcl"), "a rejected module is not built with defaults: " + modules);
        } finally {
            csf.delete();
        }
        await("kd:modules", s -> s.contains("csf.hcl"));
    }

    @Test
    void steeringCommandsSayWhatIsTrue(@TempDir Path dir) throws Exception {
        List<RunEvent> events = new CopyOnWriteArrayList<>();
        var listener = context.registerService(RunListener.class, events::add, null);
        try {
            var noSuch = assertThrows(Exception.class, () -> kd("kd:train " + tinyRun(dir.resolve("x"), "csf,pae")));
            assertTrue(noSuch.getMessage().startsWith("unknown module pae (did you mean pea?) in modules = csf,pae; registered: csf, cskd, cwd, ea, fitnet, glmixer, logit-kd, maskd, pea, reviewkd, tat"),
                    noSuch.getMessage());
            String started = kd("kd:train " + tinyRun(dir, "csf,pea"));
            assertTrue(started.contains("started run tiny"), started);
            long deadline = System.currentTimeMillis() + 60_000;
            while (events.stream().noneMatch(e -> e.type() == RunEvent.Type.STEP) && System.currentTimeMillis() < deadline) Thread.sleep(20);
            assertEquals("unknown module foo (known: csf, cskd, cwd, ea, fitnet, glmixer, logit-kd, maskd, pea, reviewkd, tat)", assertThrows(Exception.class, () -> kd("kd:enable foo")).getMessage());
            assertEquals("logit-kd is not in this run's module list (csf, pea)", assertThrows(Exception.class, () -> kd("kd:enable logit-kd")).getMessage());
            assertTrue(kd("kd:enable csf").contains("csf is not disabled"));
            assertTrue(kd("kd:disable csf").contains("csf disabled from the next step"));
            assertTrue(kd("kd:stop").contains("stopping tiny"));
            deadline = System.currentTimeMillis() + 60_000;
            while (events.stream().noneMatch(e -> e.type() == RunEvent.Type.FINISHED) && System.currentTimeMillis() < deadline) Thread.sleep(20);
            Thread.sleep(200);  // the training thread sets its final state right after publishing FINISHED
            for (String command : List.of("kd:pause", "kd:resume", "kd:stop", "kd:disable csf", "kd:enable csf")) {
                String answer = assertThrows(Exception.class, () -> kd(command)).getMessage();
                assertTrue(answer.startsWith("no run in progress (the last one, tiny-") && answer.endsWith(", is stopped)"), command + ": " + answer);
            }
        } finally {
            listener.unregister();
        }
    }

    @Test
    void kdDatasetTakesTheSplitAfterTheRootAndSaysOkOnlyWhenSamplesBatch(@TempDir Path root) throws Exception {
        writePng(root.resolve("leftImg8bit/val/ulm/ulm_000000_000019_leftImg8bit.png"), 64, 32, false);
        writePng(root.resolve("gtFine/val/ulm/ulm_000000_000019_gtFine_labelTrainIds.png"), 64, 32, true);
        writePng(root.resolve("leftImg8bit/val/ulm/ulm_000000_000020_leftImg8bit.png"), 64, 32, false);
        writePng(root.resolve("gtFine/val/ulm/ulm_000000_000020_gtFine_labelTrainIds.png"), 64, 32, true);
        String ok = kd("kd:dataset cityscapes " + root + " val");
        assertTrue(ok.contains("cityscapes val (transkd protocol)") && ok.contains("batching   OK: 1 batch of 2x3x512x1024 (labels 128x256)")
                && ok.contains("\n  OK\n"), ok);
        // the second image of another aspect ratio: each sample loads, but under transkd (shorter side to 512) they cannot share a batch
        writePng(root.resolve("leftImg8bit/val/ulm/ulm_000000_000020_leftImg8bit.png"), 48, 32, false);
        writePng(root.resolve("gtFine/val/ulm/ulm_000000_000020_gtFine_labelTrainIds.png"), 48, 32, true);
        var e = assertThrows(Exception.class, () -> kd("kd:dataset cityscapes " + root + " val"));
        assertEquals("cityscapes val: samples load one by one but cannot be batched under the transkd protocol", e.getMessage());
        var twoSplits = assertThrows(Exception.class, () -> kd("kd:dataset --split train cityscapes " + root + " val"));
        assertEquals("two splits given: --split train and val", twoSplits.getMessage());
    }

    private static void writePng(Path file, int w, int h, boolean label) throws java.io.IOException {
        Files.createDirectories(file.getParent());
        var img = new java.awt.image.BufferedImage(w, h, label ? java.awt.image.BufferedImage.TYPE_BYTE_GRAY : java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
            if (label) img.getRaster().setSample(x, y, 0, x < 32 ? 0 : 13);
            else img.setRGB(x, y, (x * 4) << 16 | (y * 8) << 8 | 77);
        }
        javax.imageio.ImageIO.write(img, "png", file.toFile());
    }

    private static Path tinyRun(Path dir, String modules) throws Exception {
        Files.createDirectories(dir);
        Path run = dir.resolve("tiny.cfg");
        Files.writeString(run, tinyRun("name = tiny", "output = " + dir.resolve("out").toString().replace('\\', '/'), "seed = 3", "modules = " + modules,
                "iterations = 400", "eval_every = 1000"));
        return run.toAbsolutePath();
    }
}
