package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;
import org.osgi.test.common.annotation.InjectService;

/** The assembled runtime, inside a real Felix framework. */
class RuntimeTest extends FrameworkTest {
    private static final String DATASETS = "datasets (6)";
    private static final String LOGIT_PID = "dev.retort.distill.logit";

    @InjectService(filter = "(engine.name=PyTorch)", timeout = 30_000)
    Engine engine;

    /**
     * Every Retort bundle this module depends on (runtime/pom.xml's list and distill-logit, copied to the folder
     * {@code retort.bundles} names) is active, and no other Retort bundle but the tests is there: the bndrun takes
     * them by a wildcard, which would leave a bundle that does not resolve out without a word.
     */
    @Test
    void everyRetortBundleResolvesAndIsActive() throws IOException {
        Set<String> expected = new TreeSet<>();
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(Path.of(context.getProperty("retort.bundles")), "*.jar")) {
            for (Path jar : jars) {
                try (JarFile j = new JarFile(jar.toFile())) {
                    expected.add(j.getManifest().getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME));
                }
            }
        }
        assertTrue(expected.containsAll(Set.of("dev.retort.api", "dev.retort.runner", "dev.retort.distill-logit")), "bundle list: " + expected);
        Set<String> active = Stream.of(context.getBundles()).filter(b -> b.getState() == Bundle.ACTIVE)
                .map(Bundle::getSymbolicName).filter(n -> n.startsWith("dev.retort.")).collect(Collectors.toCollection(TreeSet::new));
        active.remove(context.getBundle().getSymbolicName());
        assertEquals(expected, active);
    }

    @Test
    void theEngineServiceComputesWithGradients() {
        assertEquals("2.7.1", engine.getVersion());
        try (NDManager m = engine.newBaseManager()) {
            NDArray x = m.create(new float[] {1, 2, 3, 4}, new Shape(2, 2));
            x.setRequiresGradient(true);
            try (GradientCollector g = engine.newGradientCollector()) {
                NDArray y = x.matMul(x).sum();
                g.backward(y);
            }
            // d/dX sum(X·X) = 1ᵀ·Xᵀ + Xᵀ·1 summed: for [[1,2],[3,4]] it is [[7,11],[9,13]]
            assertEquals(List.of(7f, 11f, 9f, 13f), toList(x.getGradient().toFloatArray()));
        }
    }

    @Test
    void kdInfoListsTheRegisteredServicesAndTheirBundles() throws Exception {
        String info = kd("kd:info");
        assertTrue(info.contains("PyTorch 2.7.1"), info);
        assertTrue(info.contains("org.apache.felix.framework"), info);
        // what the native allocator does with freed tensors (glibc's threshold as the environment leaves it)
        assertTrue(info.matches("(?s).*\\n +allocator +(glibc [0-9.]+ malloc, (dynamic|fixed) mmap threshold|not glibc).*"), info);
        // and how much of it a step leaves to the allocator (the default bound, the test JVM sets no -Dretort.malloc_trim)
        assertTrue(info.contains("freed native memory over 1.0 GB returned after a training step") || info.contains("not glibc 2.33"), info);
        assertTrue(info.contains("logit-kd") && info.contains("<- dev.retort.distill-logit"), info);
        assertTrue(info.contains("mit  mit-b0, mit-b1, mit-b2, mit-b3, mit-b4, mit-b5  <- dev.retort.backbones-mit"), info);
        assertTrue(info.contains("pvtv2  pvtv2-b0, pvtv2-b1, pvtv2-b2, pvtv2-b2-li, pvtv2-b3, pvtv2-b4, pvtv2-b5  <- dev.retort.backbones-pvtv2"), info);
    }

    @Test
    void stoppingAndStartingGlMixerAndEaChangesTheBuiltModuleSet() throws Exception {
        Bundle gl = bundle("dev.retort.distill-glmixer"), ea = bundle("dev.retort.distill-ea");
        String all = kd("kd:modules");
        assertTrue(all.contains("pea.input.4 <- glmixer") && all.contains("pea.output.1 <- ea"), all);
        for (String row : List.of("csf\\s+650,304 params", "pea\\s+193,536 params", "glmixer\\s+656,130 params", "ea\\s+970,952 params",
                "fitnet\\s+8,320 params", "cwd\\s+132,096 params", "reviewkd\\s+625,926 params", "logit-kd\\s+0 params",
                "tat\\s+776,192 params", "cskd\\s+5,140 params")) {
            assertTrue(java.util.regex.Pattern.compile(row).matcher(all).find(), row + " in " + all);
        }
        gl.stop();
        ea.stop();
        try {
            String base = kd("kd:modules");
            assertFalse(base.contains("glmixer") || base.contains("<- ea"), base);
            // CSF + PEA (843,840) and the embedded baselines (fitnet 8,320, cwd 132,096, reviewkd 625,926, logit-kd 0), tat 776,192, cskd 5,140, maskd 160
            assertTrue(base.contains("csf.hcl") && base.contains("pea.4") && base.contains("2,391,674 params (training only)"), base);
            gl.start();
            String withGl = awaitModules(s -> s.contains("pea.input.4 <- glmixer"));
            assertFalse(withGl.contains("<- ea"), withGl);
            assertTrue(withGl.contains("3,047,804 params (training only)"), withGl);
        } finally {
            if (gl.getState() != Bundle.ACTIVE) gl.start();
            ea.start();
        }
        awaitModules(s -> s.contains("pea.output.4 <- ea"));
    }

    @Test
    void aDisabledDistillerLeavesTheSetAndARefinerWithoutItsPortFailsTheBuild(
            @InjectService(timeout = 10_000) ConfigurationAdmin configAdmin) throws Exception {
        Configuration pea = configAdmin.getConfiguration("dev.retort.distill.pea", "?");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("enabled", false);
        pea.update(props);
        try {
            long deadline = System.currentTimeMillis() + 10_000;
            Exception failure = null;
            while (System.currentTimeMillis() < deadline) {
                try {
                    kd("kd:modules");
                } catch (Exception e) {
                    failure = e;
                    break;
                }
                Thread.sleep(50);
            }
            assertNotNull(failure, "GL-Mixer and EA without PEA must not build");
            assertTrue(failure.getMessage().contains("refines port pea."), failure.getMessage());
        } finally {
            pea.delete();
        }
        awaitModules(s -> s.contains("pea.input.4 <- glmixer"));
    }

    private String awaitModules(Predicate<String> condition) throws Exception {
        return await("kd:modules", condition);
    }

    @Test
    void everyDatasetOpensThroughItsServiceAndKdDatasetValidates(@org.junit.jupiter.api.io.TempDir java.nio.file.Path root) throws Exception {
        String info = kd("kd:info");
        assertTrue(info.contains(DATASETS) && info.contains("cityscapes") && info.contains("acdc") && info.contains("nyuv2")
                && info.contains("voc2012") && info.contains("synthetic"), info);
        // a tiny Cityscapes in its published layout
        writePng(root.resolve("leftImg8bit/val/ulm/ulm_000000_000019_leftImg8bit.png"), 64, 32, false);
        writePng(root.resolve("gtFine/val/ulm/ulm_000000_000019_gtFine_labelTrainIds.png"), 64, 32, true);
        var refs = context.getServiceReferences(dev.retort.api.data.SegmentationDataset.class, "(retort.dataset=cityscapes)");
        var cityscapes = context.getService(refs.iterator().next());
        try (var source = cityscapes.open(new dev.retort.api.data.DatasetRequest(root, "val", "transkd", java.util.Map.of("short_side", 16)))) {
            var sample = source.get(0, 0);
            assertEquals(16, sample.height());
            assertEquals(4, sample.labelHeight());
        } finally {
            context.ungetService(refs.iterator().next());
        }
        String ok = kd("kd:dataset --split val cityscapes " + root);
        assertTrue(ok.contains("samples    1") && ok.contains("OK"), ok);
        String synthetic = kd("kd:dataset --limit 4 synthetic");
        assertTrue(synthetic.contains("(4 checked)") && synthetic.contains("road"), synthetic);
        Exception missing = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> kd("kd:dataset voc2012 " + root.resolve("nothing")));
        assertTrue(missing.getMessage().contains("nothing"), missing.getMessage());
    }

    private static void writePng(java.nio.file.Path file, int w, int h, boolean label) throws java.io.IOException {
        java.nio.file.Files.createDirectories(file.getParent());
        var img = new java.awt.image.BufferedImage(w, h, label ? java.awt.image.BufferedImage.TYPE_BYTE_GRAY : java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
            if (label) img.getRaster().setSample(x, y, 0, x < 32 ? 0 : 13);
            else img.setRGB(x, y, (x * 4) << 16 | (y * 8) << 8 | 77);
        }
        javax.imageio.ImageIO.write(img, "png", file.toFile());
    }

    /** A tiny run in the background; module bundles stopped and started and kd:disable take effect at step boundaries. */
    @Test
    void aTinyRunSwapsModulesWhenBundlesStopAndStartAndOnKdDisable(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.util.List<dev.retort.api.run.RunEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        var listener = context.registerService(dev.retort.api.run.RunListener.class, events::add, null);
        java.nio.file.Path run = dir.resolve("tiny.cfg");
        java.nio.file.Files.writeString(run, tinyRun("name = tiny", "output = " + dir.resolve("out"), "seed = 3", "iterations = 400", "eval_every = 1000",
                "module.maskd.prepare_steps = 2"));
        Bundle pea = bundle("dev.retort.distill-pea");
        try {
            String started = kd("kd:train " + run.toString().replace('\\', '/'));
            assertTrue(started.contains("started run tiny"), started);
            long swapAt = awaitStep(events, 3);
            pea.stop();
            long peaGone = awaitTerms(events, swapAt, t -> !t.contains("pea.1"));
            assertTrue(termsAt(events, peaGone).contains("csf.hcl"));
            kd("kd:disable csf");
            long csfGone = awaitTerms(events, peaGone, t -> !t.contains("csf.hcl"));
            pea.start();
            long peaBack = awaitTerms(events, csfGone, t -> t.contains("pea.1"));
            assertFalse(termsAt(events, peaBack).contains("csf.hcl"), "csf stays disabled");
            String status = kd("kd:status");
            assertTrue(status.contains("RUNNING") && status.contains("disabled: csf"), status);
            assertTrue(events.stream().filter(e -> e.type() == dev.retort.api.run.RunEvent.Type.MODULES_CHANGED).count() >= 4, events.toString());
            kd("kd:stop");
            long deadline = System.currentTimeMillis() + 30_000;
            while (events.stream().noneMatch(e -> e.type() == dev.retort.api.run.RunEvent.Type.FINISHED) && System.currentTimeMillis() < deadline) Thread.sleep(50);
            assertTrue(kd("kd:status").contains("STOPPED"), kd("kd:status"));
            assertTrue(java.nio.file.Files.exists(dir.resolve("out/last.safetensors")));
        } finally {
            if (pea.getState() != Bundle.ACTIVE) pea.start();
            listener.unregister();
        }
    }

    private static java.util.Set<String> termsAt(java.util.List<dev.retort.api.run.RunEvent> events, long step) {
        return events.stream().filter(e -> e.type() == dev.retort.api.run.RunEvent.Type.STEP && e.step() == step).findFirst().orElseThrow().metrics().keySet();
    }

    @Test
    void kdModelPrintsTheReferenceCounts() throws Exception {
        String b0 = kd("kd:model mit-b0");
        assertTrue(b0.contains("3,719,284") && b0.contains("13.67"), b0);
        String b2 = kd("kd:model mit-b2 512x1024");
        assertTrue(b2.contains("27,362,004") && b2.contains("113.84"), b2);
    }

    @Test
    void kdParityPassesOnTheSharedFixturesInsideOsgi() throws Exception {
        String dir = System.getProperty("retort.fixtures") + "/transkd-parity";
        String out = kd("kd:parity " + dir);
        assertTrue(out.contains("mit-b0") && out.contains("transkd-modules") && out.contains("PASS: 2/2 fixture sets"), out);
        assertFalse(out.contains("FAIL"), out);
    }

    /** PVTv2-B0 + Semantic FPN at 88×120, whose stage maps are not halvings of each other (the FPN resizes 3×4 → 6×8 → 11×15). */
    @Test
    void kdParityPassesOnThePvtv2FixturesAtAnOddSizeInsideOsgi() throws Exception {
        String out = kd("kd:parity " + System.getProperty("retort.fixtures") + "/pvtv2-parity-odd");
        assertTrue(out.contains("pvtv2-b0") && out.contains("PASS: 21/21 tensors") && out.contains("PASS: 1/1 fixture sets"), out);
        assertFalse(out.contains("FAIL"), out);
    }

    @Test
    void stoppingAProviderRemovesItsServiceAndStartingItBringsItBack() throws Exception {
        Bundle provider = bundle("dev.retort.distill-logit");
        assertTrue(kd("kd:info").contains("distillers (11)"));
        provider.stop();
        try {
            String info = kd("kd:info");
            assertFalse(info.contains("logit-kd"), info);
            assertTrue(info.contains("distillers (10)"), info);
        } finally {
            provider.start();
        }
        String info = awaitInfo(s -> s.contains("logit-kd"));
        assertTrue(info.contains("<- dev.retort.distill-logit"), info);
    }

    @Test
    void configAdminReconfiguresADistillerAndMetaTypeDescribesIt(
            @InjectService(timeout = 10_000) ConfigurationAdmin configAdmin,
            @InjectService(timeout = 10_000) MetaTypeService metaType) throws Exception {
        ObjectClassDefinition ocd = metaType.getMetaTypeInformation(bundle("dev.retort.distill-logit"))
                .getObjectClassDefinition(LOGIT_PID, null);
        assertNotNull(ocd);
        assertEquals(Set.of("temperature", "weight", "enabled"), Stream.of(ocd.getAttributeDefinitions(ObjectClassDefinition.ALL))
                .map(a -> a.getID()).collect(Collectors.toSet()));

        Configuration config = configAdmin.getConfiguration(LOGIT_PID, "?");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("temperature", 4.0);
        config.update(props);
        try {
            assertTrue(awaitInfo(s -> s.contains("T=4.0")).contains("logit-kd"));
        } finally {
            config.delete();
        }
        awaitInfo(s -> s.contains("T=1.0"));
    }

    private String awaitInfo(Predicate<String> condition) throws Exception {
        return await("kd:info", condition);
    }

    private static List<Float> toList(float[] a) {
        Float[] boxed = new Float[a.length];
        for (int i = 0; i < a.length; i++) boxed[i] = a[i];
        return List.of(boxed);
    }
}
