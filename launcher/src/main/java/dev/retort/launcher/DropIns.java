package dev.retort.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/** Checks the jars of the drop-in folder before FileInstall takes them in, so that a bad one is named with its reason. */
final class DropIns {
    private DropIns() {}

    /** The jars of {@code dir} that cannot be bundles, each with the reason. */
    static Map<Path, String> notBundles(Path dir) {
        Map<Path, String> bad = new TreeMap<>();
        if (!Files.isDirectory(dir)) return bad;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path jar : files.filter(p -> p.toString().endsWith(".jar") && Files.isRegularFile(p)).toList()) {
                String reason = reason(jar);
                if (reason != null) bad.put(jar, reason);
            }
        } catch (IOException e) {
            bad.put(dir, "cannot list the folder: " + e.getMessage());
        }
        return bad;
    }

    /** Why a jar cannot be installed as a bundle, or null when it looks like one. */
    static String reason(Path jar) {
        try (JarFile f = new JarFile(jar.toFile())) {
            Manifest m = f.getManifest();
            if (m == null) return "not an OSGi bundle (no META-INF/MANIFEST.MF)";
            if (m.getMainAttributes().getValue("Bundle-SymbolicName") == null) {
                return "not an OSGi bundle (its manifest has no Bundle-SymbolicName; a plain library jar must be wrapped as a bundle)";
            }
            return null;
        } catch (IOException e) {
            return "not a readable jar (" + (e.getMessage() == null ? "corrupt" : e.getMessage()) + ")";
        }
    }
}
