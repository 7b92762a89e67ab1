package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * A third party's distiller: {@code templates/distiller-template}, copied out of the tree, builds with Maven alone
 * (offline) against Retort's installed artifacts, and its bundle joins a training that is already running.
 *
 * <p>The artifacts are this build's, not whatever an earlier {@code mvn install} left in the local repository: the
 * template builds against a local repository that links every other group to the user's and holds this tree's
 * poms and jars under {@code dev/retort} (Maven 3.8 cannot chain local repositories).
 */
class ThirdPartyDistillerIT {
    private static final String BSN = "org.example.distill-feature-mse";
    private static final Path TREE = Path.of(System.getProperty("retort.tree"));
    private static final Path LOCAL_REPOSITORY = Path.of(System.getProperty("retort.m2"));

    @Test
    void theTemplateBuildsOutsideTheTreeAndItsBundleJoinsARunningTraining(@TempDir Path work) throws Exception {
        Optional<Path> mvn = onPath("mvn");
        assumeTrue(mvn.isPresent(), "mvn is not on the PATH: the template cannot be built here");

        Path template = work.resolve("distill-feature-mse");
        copyTree(TREE.resolve("templates/distiller-template"), template);
        Path repository = overlay(work.resolve("m2"));
        Path buildLog = work.resolve("mvn.txt");
        Process build = new ProcessBuilder(mvn.get().toString(), "-B", "-o", "-q", "package", "-Dmaven.repo.local=" + repository,
                "-Dretort.test.djl.cache=" + System.getProperty("DJL_CACHE_DIR"))
                .directory(template.toFile()).redirectErrorStream(true).redirectOutput(buildLog.toFile()).start();
        assertTrue(build.waitFor(240, TimeUnit.SECONDS), "the template's build did not finish: " + Files.readString(buildLog));
        assertEquals(0, build.exitValue(), Files.readString(buildLog));

        // its own unit tests ran (against real tensors) and passed
        String report = Files.readString(template.resolve("target/surefire-reports/TEST-org.example.distill.featuremse.FeatureMseModuleTest.xml"));
        Matcher counts = Pattern.compile("tests=\"(\\d+)\" errors=\"(\\d+)\" skipped=\"(\\d+)\" failures=\"(\\d+)\"").matcher(report);
        assertTrue(counts.find(), report);
        assertTrue(Integer.parseInt(counts.group(1)) >= 5 && "0".equals(counts.group(2)) && "0".equals(counts.group(4)), counts.group());

        // the bnd policy came with the installed parent: symbolic name groupId.artifactId, DJL's range, its own vendor
        Path bundle = template.resolve("target/distill-feature-mse-1.0.0-SNAPSHOT.jar");
        try (JarFile jar = new JarFile(bundle.toFile())) {
            Attributes manifest = jar.getManifest().getMainAttributes();
            assertEquals(BSN, manifest.getValue("Bundle-SymbolicName"));
            assertTrue(manifest.getValue("Import-Package").contains("ai.djl.ndarray;version=\"[0.35,0.36)\""), manifest.getValue("Import-Package"));
            assertEquals("Example", manifest.getValue("Bundle-Vendor"));
        }

        Path out = work.resolve("out");
        Retort.tinyRun(work, out);
        Files.createDirectories(work.resolve("bundles"));
        Process run = Retort.start(work, "kd:train", "tiny.cfg");
        try {
            Path metrics = out.resolve("metrics.jsonl");
            long deadline = System.currentTimeMillis() + 120_000;
            assertTrue(Retort.await(metrics, l -> l.contains("\"step\":3,"), deadline, run), Files.readString(work.resolve("log.txt")));
            Files.copy(bundle, work.resolve("bundles").resolve(bundle.getFileName()));
            assertTrue(Retort.await(metrics, l -> l.contains("\"type\":\"STEP\"") && l.contains("\"feature-mse\""), deadline, run),
                    "no step with the feature-mse term; log: " + Files.readString(work.resolve("log.txt")));
            assertTrue(Files.readAllLines(metrics).stream().anyMatch(l -> l.contains("MODULES_CHANGED") && l.contains("bundle " + BSN)
                    && l.contains("installed (dropped in)")), Files.readString(metrics));
        } finally {
            run.destroyForcibly().waitFor();
        }
    }

    private static Optional<Path> onPath(String command) {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)).filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, command)).filter(Files::isExecutable).findFirst();
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.filter(f -> !from.relativize(f).startsWith("target")).toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(target);
                else Files.copy(f, target);
            }
        }
    }

    /**
     * A local repository in {@code dir}: links to every folder of the user's, except {@code dev/retort}, which holds
     * this tree's modules (each pom, and its jar where it was built).
     */
    private static Path overlay(Path dir) throws Exception {
        Path dev = Files.createDirectories(dir.resolve("dev"));
        try (Stream<Path> top = Files.list(LOCAL_REPOSITORY)) {
            for (Path p : top.filter(p -> !p.getFileName().toString().equals("dev")).toList()) {
                Files.createSymbolicLink(dir.resolve(p.getFileName().toString()), p);
            }
        }
        if (Files.isDirectory(LOCAL_REPOSITORY.resolve("dev"))) {
            try (Stream<Path> groups = Files.list(LOCAL_REPOSITORY.resolve("dev"))) {
                for (Path p : groups.filter(p -> !p.getFileName().toString().equals("retort")).toList()) {
                    Files.createSymbolicLink(dev.resolve(p.getFileName().toString()), p);
                }
            }
        }
        List<Path> modules = new ArrayList<>();
        modules(TREE, modules);
        for (Path module : modules) {
            Element pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(module.resolve("pom.xml").toFile()).getDocumentElement();
            String artifact = text(pom, "artifactId");
            String version = Optional.ofNullable(text(pom, "version")).orElseGet(() -> text(element(pom, "parent"), "version"));
            assertEquals("dev.retort", Optional.ofNullable(text(pom, "groupId")).orElse("dev.retort"), module + "/pom.xml");
            Path folder = Files.createDirectories(dev.resolve("retort").resolve(artifact).resolve(version));
            Files.createSymbolicLink(folder.resolve(artifact + "-" + version + ".pom"), module.resolve("pom.xml"));
            Path jar = module.resolve("target").resolve(artifact + "-" + version + ".jar");
            if (Files.isRegularFile(jar)) Files.createSymbolicLink(folder.resolve(jar.getFileName()), jar);
        }
        return dir;
    }

    /**
     * The policy a bundle outside the tree gets (distiller-parent's bnd instructions) is the tree's: the top-level
     * bnd.bnd, instruction for instruction (comments and blank lines aside), and the root pom makes that file every module's bnd file.
     */
    @Test
    void distillerParentCarriesTheWorkspaceBndInstructions() throws Exception {
        Element parent = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(TREE.resolve("distiller-parent/pom.xml").toFile())
                .getDocumentElement();
        String carried = parent.getElementsByTagName("bnd").item(0).getTextContent();
        assertEquals(instructions(Files.readString(TREE.resolve("bnd.bnd"))), instructions(carried));
        assertTrue(Files.readString(TREE.resolve("pom.xml")).contains("<bndfile>${maven.multiModuleProjectDirectory}/bnd.bnd</bndfile>"),
                "the root pom makes the top-level bnd.bnd every module's bnd file");
    }

    private static List<String> instructions(String bnd) {
        return bnd.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }

    /** {@code pom}'s folder and those of its modules, recursively. */
    private static void modules(Path folder, List<Path> into) throws Exception {
        into.add(folder);
        Element pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(folder.resolve("pom.xml").toFile()).getDocumentElement();
        Element list = element(pom, "modules");
        if (list == null) return;
        for (Node n = list.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals("module")) modules(folder.resolve(e.getTextContent().trim()), into);
        }
    }

    /** The text of {@code parent}'s child element {@code name}, or null. */
    private static String text(Element parent, String name) {
        Element e = element(parent, name);
        return e == null ? null : e.getTextContent().trim();
    }

    private static Element element(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) return e;
        }
        return null;
    }
}
