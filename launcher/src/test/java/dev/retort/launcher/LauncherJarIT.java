package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.launcher.Retort.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the built {@code retort.jar} as users do: a separate JVM, in a fresh working directory. */
class LauncherJarIT {
    private static Result retort(Path workDir, String stdin, String... args) throws IOException, InterruptedException {
        return Retort.run(workDir, stdin, args);
    }

    @Test
    void kdInfoPrintsTheRuntimeAndExitsZero(@TempDir Path work) throws Exception {
        Result r = retort(work, "", "kd:info");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("org.apache.felix.framework 7.0.5"), r.out());
        assertTrue(r.out().contains("PyTorch 2.7.1"), r.out());
        assertTrue(r.out().contains("cpu()"), r.out());
        assertTrue(r.out().contains("backbones (") && r.out().contains("distillers (") && r.out().contains("datasets ("), r.out());
        assertTrue(Files.isDirectory(work.resolve("bundles")) && Files.isDirectory(work.resolve("conf")));
        try (Stream<Path> s = Files.list(work)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("felix-cache")), "no felix-cache left behind");
        }
    }

    @Test
    void theSmokeDemoComparesThreeSeedsPerArmSaysItsFiguresMeanNothingAndCachesItsTeacher(@TempDir Path work) throws Exception {
        List<String> cache = List.of("-Dretort.cache=" + work.resolve("cache"));
        Result first = Retort.run(work, cache, "", "kd:demo", "--scale", "0.05");
        assertEquals(0, first.exit(), first.out() + first.err());
        assertTrue(first.out().contains("trained first, then cached") && first.out().contains("SMOKE RUN (--scale 0.05)"), first.out());
        assertTrue(Pattern.compile("student \\+ TransKD-Base\\s+\\d+\\.\\d\\d ± \\d+\\.\\d\\d").matcher(first.out()).find(), first.out());
        assertTrue(Pattern.compile("gain [+-]\\d+\\.\\d ± \\d+\\.\\d mIoU over 3 seeds").matcher(first.out()).find(), first.out());
        Path demo = work.resolve("retort-demo");
        for (String f : List.of("loss.png", "distill.png", "miou.png", "results.md", "results.csv")) assertTrue(Files.isRegularFile(demo.resolve(f)), f);
        // the tables kd:ablate writes: every seed's value, and the gain over the student alone
        String md = Files.readString(demo.resolve("results.md"));
        assertTrue(md.contains("| 1 | student | none | 1, 2, 3 | ") && md.contains("| 2 | student + TransKD-Base | csf+pea | 1, 2, 3 | "), md);
        assertTrue(md.contains("Paired gain over 'student'") && md.contains("| 0 | teacher | none | 7 | "), md);
        try (Stream<Path> s = Files.list(work.resolve("cache"))) {
            assertEquals(1, s.filter(p -> p.getFileName().toString().matches("demo-teacher-[0-9a-f]{16}\\.safetensors")).count());
        }
        Result second = Retort.run(work, cache, "", "kd:demo", "--scale", "0.05");
        assertEquals(0, second.exit(), second.out() + second.err());
        assertTrue(second.out().contains("from the cache") && second.out().contains("teacher (cached)"), second.out());
    }

    @Test
    void kdModelAndKdParityWorkFromTheJar(@TempDir Path work) throws Exception {
        Result model = retort(work, "", "kd:model", "mit-b2", "512x1024");
        assertEquals(0, model.exit(), model.out() + model.err());
        assertTrue(model.out().contains("27,362,004") && model.out().contains("113.84"), model.out());
        Path fixtures = Path.of(System.getProperty("retort.fixtures"), "transkd-parity");
        Result parity = retort(work, "", "kd:parity", fixtures.toString());
        assertEquals(0, parity.exit(), parity.out() + parity.err());
        assertTrue(parity.out().contains("PASS: 2/2"), parity.out());
        Result modules = retort(work, "", "kd:modules");
        assertEquals(0, modules.exit(), modules.out() + modules.err());
        // the TransKD modules (2,470,922) and the embedded baselines: fitnet 8,320, cwd 132,096, reviewkd 625,926, logit-kd 0, tat 776,192, cskd 5,140, maskd 160
        for (String row : List.of("fitnet\\s+8,320 params", "cwd\\s+132,096 params", "reviewkd\\s+625,926 params", "logit-kd\\s+0 params",
                "tat\\s+776,192 params", "cskd\\s+5,140 params", "maskd\\s+160 params")) {
            assertTrue(java.util.regex.Pattern.compile(row).matcher(modules.out()).find(), row + " in " + modules.out());
        }
        assertTrue(modules.out().contains("4,018,756 params (training only)"), modules.out());
    }

    @Test
    void aCheckpointConvertsToHuggingFaceNamingAndBack(@TempDir Path work) throws Exception {
        Path weights = Path.of(System.getProperty("retort.fixtures"), "transkd-parity", "mit-b0.weights.safetensors");
        Result toHf = retort(work, "", "kd:convert", "mit-b0", weights.toString(), "hf.safetensors", "hf");
        assertEquals(0, toHf.exit(), toHf.out() + toHf.err());
        Result check = retort(work, "", "kd:weights", "mit-b0", "hf.safetensors");
        assertEquals(0, check.exit(), check.out() + check.err());
        assertTrue(check.out().contains("hf naming, 191 tensors loaded"), check.out());
        Result wrong = retort(work, "", "kd:weights", "mit-b2", "hf.safetensors");
        assertNotEquals(0, wrong.exit());
        assertTrue(wrong.err().contains("does not fit mit-b2"), wrong.err());
    }

    /**
     * A training checkpoint written by real PyTorch is described as it is; a hostile one is refused in one line naming
     * the global, and its os.system payload, which would write a file into the working folder, never ran.
     */
    @Test
    void pytorchCheckpointsAreDescribedAndAHostileOneIsRefusedWithNothingRun(@TempDir Path work) throws Exception {
        Path dir = Path.of(System.getProperty("retort.fixtures"), "pytorch-checkpoints");
        Result describe = retort(work, "", "kd:weights", dir.resolve("transkd-checkpoint.pth.tar").toString());
        assertEquals(0, describe.exit(), describe.out() + describe.err());
        assertTrue(describe.out().contains("format: PyTorch zip checkpoint") && describe.out().contains("tensors taken from 'state_dict'")
                && describe.out().contains("tensors: 205") && describe.out().contains("key prefix student.")
                && describe.out().contains("fits: none of the registered variants"), describe.out());
        Path b0 = Path.of(System.getProperty("retort.fixtures"), "transkd-parity", "mit-b0.weights.safetensors");
        Result fits = retort(work, "", "kd:weights", b0.toString());
        assertEquals(0, fits.exit(), fits.out() + fits.err());
        assertTrue(fits.out().contains("format: safetensors") && fits.out().contains("fits: mit-b0 (whole network, reference naming)"), fits.out());
        Result hostile = retort(work, "", "kd:weights", "mit-b0", dir.resolve("hostile-os-system.pth").toString());
        assertNotEquals(0, hostile.exit());
        assertTrue(hostile.err().contains("it names the global posix.system") && hostile.err().contains("nothing in the file was run")
                && !hostile.err().contains("Exception") && !hostile.err().contains("\tat "), hostile.err());
        assertFalse(Files.exists(work.resolve("retort-payload-ran.txt")), "the payload ran");
    }

    @Test
    void kdParityFailsOnAMissingFileOrDirectory(@TempDir Path work) throws Exception {
        Path half = Files.createDirectories(work.resolve("half"));
        Files.copy(Path.of(System.getProperty("retort.fixtures"), "transkd-parity", "mit-b0.io.safetensors"),
                half.resolve("mit-b0.io.safetensors"));
        Result r = retort(work, "", "kd:parity", half.toString());
        assertNotEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("missing file") && r.out().contains("FAIL"), r.out());
        Result none = retort(work, "", "kd:parity", work.resolve("nowhere").toString());
        assertNotEquals(0, none.exit());
        assertTrue(none.err().contains("is not a directory"), none.err());
    }

    @Test
    void kdDatasetWorksAndFailsOnAMissingRoot(@TempDir Path work) throws Exception {
        Result synthetic = retort(work, "", "kd:dataset", "--limit", "3", "synthetic");
        assertEquals(0, synthetic.exit(), synthetic.out() + synthetic.err());
        assertTrue(synthetic.out().contains("(3 checked)") && synthetic.out().contains("OK"), synthetic.out());
        Result missing = retort(work, "", "kd:dataset", "cityscapes", work.resolve("no-such-root").toString());
        assertNotEquals(0, missing.exit());
        assertTrue(missing.err().contains("no-such-root"), missing.err());
    }

    /** A distiller bundle the jar does not embed (the drop-in fixture), dropped into bundles/ during a foreground run, joins at a step boundary. */
    @Test
    void aDistillerDroppedInDuringARunJoinsIt(@TempDir Path work) throws Exception {
        Path out = work.resolve("out");
        Retort.tinyRun(work, out);
        Files.createDirectories(work.resolve("bundles"));
        Process p = Retort.start(work, "kd:train", "tiny.cfg");
        try {
            Path metrics = out.resolve("metrics.jsonl");
            long deadline = System.currentTimeMillis() + 120_000;
            assertTrue(Retort.await(metrics, l -> l.contains("\"step\":5,"), deadline, p), Files.readString(work.resolve("log.txt")));
            try (Stream<Path> jars = Files.list(Path.of(System.getProperty("retort.dropin")))) {
                for (Path jar : jars.toList()) Files.copy(jar, work.resolve("bundles").resolve(jar.getFileName()));
            }
            boolean joined = Retort.await(metrics, l -> l.contains("\"type\":\"STEP\"") && l.contains("logit-mse"), deadline, p);
            assertTrue(joined, "no step with the logit-mse term; log: " + Files.readString(work.resolve("log.txt")));
            assertTrue(Files.readString(metrics).contains("MODULES_CHANGED"));
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    /** The embedded baselines train from a run file that names them, each with its own loss terms. */
    @Test
    void aRunFileNamingTheBaselinesTrainsThem(@TempDir Path work) throws Exception {
        Path out = work.resolve("out");
        Files.writeString(work.resolve("baselines.cfg"), String.join("\n", "name = baselines", "output = " + out, "seed = 3",
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 8", "data.val_size = 2",
                "modules = logit-kd,fitnet,cwd,reviewkd", "module.cwd.logits = true", "module.fitnet.batch_norm = true",
                "batch_size = 2", "iterations = 3", "eval_every = 100", "eval_batches = 1", "decay_per = iteration", "log_every = 1", "threads = 1", ""));
        Result r = retort(work, "", "kd:train", "baselines.cfg");
        assertEquals(0, r.exit(), r.out() + r.err());
        List<String> steps = Files.readAllLines(out.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"type\":\"STEP\"")).toList();
        assertEquals(3, steps.size(), String.join("\n", steps));
        for (String step : steps) {
            for (String term : List.of("logit-kd", "fitnet.2", "cwd.4", "cwd.logits", "reviewkd.hcl")) assertTrue(step.contains("\"" + term + "\":"), term + " in " + step);
        }
    }

    /** Ablation by bundle configuration, literally: a profile's files copied into conf/ choose TransKD-Base, -GL or -EA. */
    @Test
    void theShippedTransKdProfilesSelectTheirModules(@TempDir Path work) throws Exception {
        Path profiles = Path.of(System.getProperty("retort.profiles"));
        Map<String, List<String>> expected = Map.of("transkd-base", List.of("csf", "pea"), "transkd-gl", List.of("csf", "glmixer", "pea"),
                "transkd-ea", List.of("csf", "ea", "pea"));
        for (Map.Entry<String, List<String>> e : expected.entrySet()) {
            Path dir = Files.createDirectories(work.resolve(e.getKey()).resolve("conf"));
            try (Stream<Path> files = Files.list(profiles.resolve(e.getKey()))) {
                for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
            }
            Result r = retort(dir.getParent(), "", "kd:modules");
            assertEquals(0, r.exit(), r.out() + r.err());
            List<String> built = r.out().lines().filter(l -> l.matches("  \\S+ +[0-9,]+ params.*")).map(l -> l.trim().split(" +")[0])
                    .filter(n -> !n.equals("total")).sorted().toList();
            assertEquals(e.getValue(), built, e.getKey() + ":\n" + r.out());
            assertTrue(r.err().isBlank() || !r.err().contains("no installed bundle reads PID"), r.err());
        }
    }

    @Test
    void anUnknownCommandExitsNonZero(@TempDir Path work) throws Exception {
        Result r = retort(work, "", "kd:bogus");
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains("kd:bogus"), r.err());
    }

    @Test
    void aFailingCommandExitsNonZero(@TempDir Path work) throws Exception {
        // kd:info takes no argument: Gogo throws, and the launcher must turn that into a failure status
        Result r = retort(work, "", "kd:info", "surplus");
        assertNotEquals(0, r.exit(), r.out() + r.err());
    }

    @Test
    void aDroppedInBundleAndItsConfigurationAreTakenIn(@TempDir Path work) throws Exception {
        Files.createDirectories(work.resolve("bundles"));
        Files.createDirectories(work.resolve("conf"));
        try (Stream<Path> jars = Files.list(Path.of(System.getProperty("retort.dropin")))) {
            for (Path jar : jars.toList()) Files.copy(jar, work.resolve("bundles").resolve(jar.getFileName()));
        }
        Files.writeString(work.resolve("conf/dev.retort.dropin.logitmse.cfg"), "weight=0.25\n");
        Result r = retort(work, "", "kd:info");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("logit-mse") && r.out().contains("MSE between student and teacher logits (weight 0.25)"), r.out());
        assertTrue(r.out().contains("<- dev.retort.dropin-fixture"), r.out());
    }

    /** A corrupt jar and a plain library jar in bundles/ are named with their reason at once; the command runs. */
    @Test
    void aJarThatIsNotABundleIsNamedAndSkipped(@TempDir Path work) throws Exception {
        Path bundles = Files.createDirectories(work.resolve("bundles"));
        Files.writeString(bundles.resolve("broken.jar"), "not a zip file");
        try (java.util.jar.JarOutputStream jar = new java.util.jar.JarOutputStream(Files.newOutputStream(bundles.resolve("plain.jar")),
                new java.util.jar.Manifest())) {
            jar.putNextEntry(new java.util.zip.ZipEntry("a/B.class"));
            jar.closeEntry();
        }
        Result r = retort(work, "", "kd:info");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains(bundles.resolve("broken.jar") + " is ignored: not a readable jar"), r.err());
        assertTrue(r.err().contains(bundles.resolve("plain.jar") + " is ignored: not an OSGi bundle (its manifest has no Bundle-SymbolicName"), r.err());
        assertTrue(!r.err().contains("not taken in after"), "not waited for: " + r.err());
    }

    @Test
    void exitLeavesTheShellWithItsStatus(@TempDir Path work) throws Exception {
        Result plain = retort(work, "exit\n", new String[0]);
        assertEquals(0, plain.exit(), plain.out() + plain.err());
        Result three = retort(work, "kd:info\nexit 3\n", new String[0]);
        assertEquals(3, three.exit(), three.out() + three.err());
        for (Result r : List.of(plain, three)) {
            String all = r.out() + r.err();
            assertTrue(!all.contains("Exception") && !all.contains("coerce"), all);
        }
        assertTrue(three.out().contains("PyTorch 2.7.1"), three.out());
    }

    @Test
    void theShellReadsCommandsFromTheTerminalAndExitsAtEndOfInput(@TempDir Path work) throws Exception {
        Result r = retort(work, "kd:info\n", new String[0]);
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("PyTorch 2.7.1"), r.out());
    }
}
