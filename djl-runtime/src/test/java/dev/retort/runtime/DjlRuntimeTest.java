package dev.retort.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtEngine;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        assertTrue(DjlRuntime.systemPackages().contains("com.sun.jna;version=" + com.sun.jna.Native.VERSION), "JNA at the class path's version");
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


    /** A libtorch folder states its version beside lib/; a version or flavor other than the JNI jar's is refused by name. */
    @Test
    void aLibtorchFolderOfAnotherVersionOrFlavorIsRefused(@TempDir Path dir) throws IOException {
        Path lib = Files.createDirectories(dir.resolve("libtorch").resolve("lib"));
        Files.writeString(lib.resolve("libtorch.so"), "");
        assertEquals("cpu", Libtorch.check(lib, null), "no CUDA libraries, no version file: the cpu flavor");
        Files.writeString(dir.resolve("libtorch").resolve("build-version"), "2.5.1+cpu\n");
        var old = assertThrows(IllegalArgumentException.class, () -> Libtorch.check(lib, null));
        assertEquals("libtorch folder " + lib + " holds libtorch 2.5.1+cpu; Retort's JNI library is built for 2.7.1", old.getMessage());
        Files.writeString(dir.resolve("libtorch").resolve("build-version"), "2.7.1+cu128\n");
        var other = assertThrows(IllegalArgumentException.class, () -> Libtorch.check(lib, "cpu"));
        assertEquals("libtorch folder " + lib + " holds libtorch 2.7.1+cu128, not the cpu flavor asked for", other.getMessage());
        assertEquals(Optional.of("2.7.1+cu128"), Libtorch.versionOf(lib));
    }

    /** The engine started from the jar reports its natives: the CPU build unpacked into DJL's cache, no CUDA. */
    @Test
    void theJarsNativesAreTheCpuFlavorWithoutCuda() {
        Libtorch.Natives n = Libtorch.natives(DjlRuntime.startOffline(Path.of("target", "djl-cache")));
        assertEquals("cpu", n.flavor());
        assertTrue(n.path().matches(".*2\\.7\\.1(-\\d{8})?-cpu-" + Libtorch.classifier()), n.path());
        assertEquals("none (the cpu build has no CUDA)", n.cuda());
    }

    /** Asking for the CUDA state answers, whatever the machine has (here a CUDA runtime library without a usable driver, or none). */
    @Test
    void theCudaStateIsAnAnswerNeverAnException() {
        String state = Libtorch.cudaState();
        assertTrue(state.startsWith("CUDA runtime ") || state.startsWith("unknown: "), state);
    }
}
