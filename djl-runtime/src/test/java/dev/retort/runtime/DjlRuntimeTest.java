package dev.retort.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtEngine;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class DjlRuntimeTest {

    /** The exported package list is maintained by hand in the pom; it must name exactly the packages in the DJL jars. */
    @Test
    void systemPackagesListEveryDjlPackageWithItsVersion() throws Exception {
        Set<String> inJars = new TreeSet<>();
        inJars.addAll(packagesOf(Model.class));
        inJars.addAll(packagesOf(PtEngine.class));

        Set<String> exported = new TreeSet<>();
        for (String clause : DjlRuntime.systemPackages().split(",")) {
            String[] parts = clause.split(";");
            if (parts[0].startsWith("ai.djl")) {
                exported.add(parts[0]);
                assertEquals("version=" + Engine.getDjlVersion(), parts[1], clause);
            }
        }
        assertEquals(inJars, exported);
        assertTrue(DjlRuntime.systemPackages().contains("org.slf4j;version=2."));
        assertTrue(DjlRuntime.systemPackages().contains("com.google.gson;version=2."));
    }

    @Test
    void engineStartsOfflineFromTheClassPath() {
        Path cache = DjlRuntime.configure(Path.of("target", "unused-default"));
        assertEquals("true", System.getProperty("ai.djl.offline"));
        Engine engine = DjlRuntime.start();
        assertEquals("PyTorch", engine.getEngineName());
        assertEquals("2.7.1", engine.getVersion());
        try (NDManager m = engine.newBaseManager()) {
            NDArray a = m.create(new float[] {1, 2, 3, 4}, new ai.djl.ndarray.types.Shape(2, 2));
            assertEquals(52f, a.matMul(a.transpose()).sum().getFloat());  // [[5,11],[11,25]]
        }
        assertTrue(cache.toFile().isDirectory(), "natives unpacked into " + cache);
    }

    private static Set<String> packagesOf(Class<?> type) throws IOException, URISyntaxException {
        Path jar = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
        try (JarFile file = new JarFile(jar.toFile())) {
            return file.stream().map(e -> e.getName()).filter(n -> n.endsWith(".class") && n.contains("/"))
                    .map(n -> n.substring(0, n.lastIndexOf('/')).replace('/', '.'))
                    .filter(p -> !p.startsWith("META-INF")).collect(Collectors.toCollection(TreeSet::new));
        }
    }

}
