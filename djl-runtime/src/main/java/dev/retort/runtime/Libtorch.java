package dev.retort.runtime;

import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.pytorch.jni.LibUtils;
import ai.djl.util.cuda.CudaUtils;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Which libtorch the engine runs on. By default the CPU build packed in the jar; with {@link #use} a folder of native
 * libraries outside it (the CUDA route: the {@code lib} folder of libtorch 2.7.1+cu128 from the official PyTorch
 * distribution, or of a {@code torch==2.7.1+cu128} Python install), checked before DJL loads anything so that a wrong
 * folder is a message naming the missing file instead of a native crash or an attempted download.
 *
 * <p>DJL 0.35.1's PyTorch {@code LibUtils} loads an outside libtorch only from {@code PYTORCH_LIBRARY_PATH} (environment
 * variable first, then system property: the environment wins), loads every library of that folder, and takes the JNI
 * glue for {@code PYTORCH_FLAVOR} (same order) from the pytorch-jni jar (which holds {@code cpu} and {@code cu128}
 * builds for linux-x86_64); without a flavor it would guess {@code cpu-precxx11} or {@code cuXXX-precxx11} and try to
 * download that glue. So {@link #use} sets both, refuses an environment that says otherwise, and {@link #verifyLoaded}
 * checks after start-up that DJL took the folder asked for.
 */
public final class Libtorch {
    /** The libtorch version the JNI jar on the class path is built for. */
    public static final String VERSION = "2.7.1";
    /** DJL's flavor setting (system property or environment variable). */
    public static final String FLAVOR = "PYTORCH_FLAVOR";
    /** DJL's outside-libtorch setting (environment variable or system property; the environment wins). */
    public static final String LIBRARY_PATH = "PYTORCH_LIBRARY_PATH";

    private static final String TORCH = System.mapLibraryName("torch");
    private static final Pattern VERSION_IN = Pattern.compile("(\\d+\\.\\d+\\.\\d+)(\\+([a-z0-9]+))?");

    private Libtorch() {}

    /**
     * Points DJL at the native libraries in {@code dir}, for {@code flavor} ({@code null}: {@code cu128} when the folder
     * holds CUDA libraries, else {@code cpu}); to be called before the engine starts.
     *
     * @return the flavor in effect
     * @throws IllegalArgumentException naming the folder and the missing or mismatched file
     */
    public static String use(Path dir, String flavor) {
        Path folder = dir.toAbsolutePath().normalize();
        String f = check(folder, flavor);
        String envPath = System.getenv(LIBRARY_PATH);
        if (envPath != null && !envPath.isBlank() && !folder.equals(firstLibtorchFolder(envPath))) {
            throw new IllegalArgumentException("the environment's " + LIBRARY_PATH + "=" + envPath + " overrides the libtorch folder " + folder
                    + " for DJL: unset it or give the same folder");
        }
        String envFlavor = System.getenv(FLAVOR);
        if (envFlavor != null && !envFlavor.isBlank() && !envFlavor.strip().equals(f)) {
            throw new IllegalArgumentException("the environment's " + FLAVOR + "=" + envFlavor + " overrides the " + f + " flavor of " + folder
                    + " for DJL: unset it or set it to " + f);
        }
        System.setProperty(LIBRARY_PATH, folder.toString());
        System.setProperty(FLAVOR, f);
        // DJL's CudaUtils finds the CUDA runtime through JNA by name; a Python install keeps it in nvidia/cuda_runtime/lib
        List<String> jna = new ArrayList<>(List.of(folder.toString()));
        Path sitePackages = folder.getParent() == null ? null : folder.getParent().getParent();
        if (sitePackages != null && Files.isDirectory(sitePackages.resolve("nvidia").resolve("cuda_runtime").resolve("lib"))) {
            jna.add(sitePackages.resolve("nvidia").resolve("cuda_runtime").resolve("lib").toString());
        }
        String previous = System.getProperty("jna.library.path", "");
        if (!previous.isEmpty()) jna.add(previous);
        System.setProperty("jna.library.path", String.join(File.pathSeparator, jna));
        requested = folder;
        return f;
    }

    /**
     * The libtorch folder the user asked for: {@code -Dretort.libtorch}, else DJL's own {@code PYTORCH_LIBRARY_PATH}
     * (environment, then system property: DJL's order); empty when neither is set (the jar's CPU build).
     */
    public static Optional<Path> requestedFolder() {
        String own = System.getProperty("retort.libtorch");
        if (own != null && !own.isBlank()) return Optional.of(Path.of(own.strip()).toAbsolutePath().normalize());
        String djl = System.getenv(LIBRARY_PATH);
        if (djl == null || djl.isBlank()) djl = System.getProperty(LIBRARY_PATH);
        return djl == null || djl.isBlank() ? Optional.empty() : Optional.of(firstLibtorchFolder(djl));
    }

    /** DJL's flavor setting as DJL reads it (environment first, then the property {@link #use} sets), else null. */
    private static String flavorSetting() {
        String env = System.getenv(FLAVOR);
        return env != null && !env.isBlank() ? env.strip() : System.getProperty(FLAVOR);
    }

    /** The folder DJL takes from a {@code PYTORCH_LIBRARY_PATH} list: the first entry holding libtorch, else the first. */
    static Path firstLibtorchFolder(String list) {
        String[] entries = list.split(File.pathSeparator);
        for (String e : entries) {
            Path p = Path.of(e.strip()).toAbsolutePath().normalize();
            if (Files.isRegularFile(p) && p.getFileName().toString().equals(TORCH)) return p.getParent();
            if (Files.isRegularFile(p.resolve(TORCH))) return p;
        }
        return Path.of(entries[0].strip()).toAbsolutePath().normalize();
    }

    /** The folder {@link #use} pointed DJL at, or null (the jar's build). */
    private static volatile Path requested;

    /**
     * After the engine started: the libtorch folder DJL loaded is the one {@link #use} was given (a mismatch means the
     * run would silently use other natives, e.g. the CPU build under a CUDA request).
     *
     * @throws IllegalStateException naming both folders
     */
    public static void verifyLoaded() {
        Path asked = requested;
        if (asked == null) return;
        Path loaded = Path.of(LibUtils.getLibtorchPath()).toAbsolutePath().normalize();
        if (!loaded.equals(asked)) {
            throw new IllegalStateException("libtorch was asked from " + asked + " but DJL loaded " + loaded
                    + " (another PYTORCH_LIBRARY_PATH, or the engine started before the folder was set)");
        }
    }

    /** What {@link #use} checks; returns the flavor. */
    static String check(Path folder, String flavor) {
        String where = "libtorch folder " + folder;
        if (!Files.isDirectory(folder)) throw new IllegalArgumentException(where + ": no such folder");
        if (!Files.isRegularFile(folder.resolve(TORCH))) {
            throw new IllegalArgumentException(where + ": " + TORCH + " is missing (give the lib folder of libtorch " + VERSION
                    + ", e.g. libtorch/lib, or of a torch==" + VERSION + " Python install, e.g. site-packages/torch/lib)");
        }
        boolean cuda = Files.isRegularFile(folder.resolve(System.mapLibraryName("torch_cuda")));
        String f = flavor == null || flavor.isBlank() ? (cuda ? "cu128" : "cpu") : flavor.strip();
        if (f.startsWith("cu")) {
            for (String lib : List.of("torch_cuda", "c10_cuda")) {
                Path file = folder.resolve(System.mapLibraryName(lib));
                if (!Files.isRegularFile(file)) throw new IllegalArgumentException(where + ": " + file.getFileName() + " is missing for the " + f + " flavor");
            }
        }
        String jni = "/jnilib/" + classifier() + "/" + f + "/" + System.mapLibraryName("djl_torch");
        if (LibUtils.class.getResource(jni) == null) {
            throw new IllegalArgumentException(where + ": the pytorch-jni jar has no JNI library for the " + f + " flavor (" + jni
                    + "); it has cpu and cu128 for linux-x86_64");
        }
        versionOf(folder).ifPresent(v -> {
            Matcher m = VERSION_IN.matcher(v);
            if (m.matches() && !m.group(1).equals(VERSION)) {
                throw new IllegalArgumentException(where + " holds libtorch " + v + "; Retort's JNI library is built for " + VERSION);
            }
            if (m.matches() && m.group(3) != null && !m.group(3).equals(f)) {
                throw new IllegalArgumentException(where + " holds libtorch " + v + ", not the " + f + " flavor asked for");
            }
        });
        return f;
    }

    /**
     * The version a libtorch folder states: {@code build-version} beside {@code lib} in the C++ distribution,
     * {@code version.py} beside it in a Python install; empty when neither is there.
     */
    static Optional<String> versionOf(Path lib) {
        Path parent = lib.getParent();
        if (parent == null) return Optional.empty();
        try {
            Path build = parent.resolve("build-version");
            if (Files.isRegularFile(build)) return Optional.of(Files.readString(build).strip());
            Path py = parent.resolve("version.py");
            if (Files.isRegularFile(py)) {
                Matcher m = Pattern.compile("__version__\\s*=\\s*['\"]([^'\"]+)['\"]").matcher(Files.readString(py));
                if (m.find()) return Optional.of(m.group(1));
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("libtorch folder " + lib + ": cannot read its version file: " + e.getMessage(), e);
        }
        return Optional.empty();
    }

    /** DJL's platform classifier of this machine, e.g. {@code linux-x86_64}. */
    static String classifier() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String o = os.startsWith("mac") ? "osx" : os.startsWith("win") ? "win" : "linux";
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch.equals("arm64") ? "aarch64" : arch;
        return o + "-" + a;
    }

    /**
     * The natives the started engine uses: flavor, folder, CUDA and cuDNN.
     *
     * @param flavor  e.g. {@code cpu}, {@code cu128}
     * @param path    the folder libtorch was loaded from
     * @param cuda    the CUDA runtime version and GPU count, or why there is none
     * @param cudnn   the cuDNN library found beside libtorch, or why there is none
     */
    public record Natives(String flavor, String path, String cuda, String cudnn) {}

    /**
     * Reads {@link Natives} off the started engine. Never throws for want of CUDA: DJL's {@code CudaUtils} finds the
     * CUDA runtime through JNA, and a machine with only the driver (or a runtime JNA cannot find by name) leaves it
     * without; the answer then says so and what to do.
     */
    public static Natives natives(Engine engine) {
        String path = LibUtils.getLibtorchPath();
        String flavor = flavorOf(Path.of(path));
        boolean cuda = engine.hasCapability(StandardCapabilities.CUDA);
        String cudaText = !cuda ? "none (the " + flavor + " build has no CUDA)" : cudaState();
        String cudnn;
        if (!engine.hasCapability(StandardCapabilities.CUDNN)) {
            cudnn = cuda ? "not available" : "none";
        } else {
            cudnn = cudnnLibrary(Path.of(path)).map(p -> "available, " + p).orElse("available (library beside libtorch not found)");
        }
        return new Natives(flavor, path, cudaText, cudnn);
    }

    /** The CUDA runtime's version and the GPUs DJL can use, or why it cannot tell. */
    static String cudaState() {
        String version;
        try {
            version = "CUDA runtime " + CudaUtils.getCudaVersionString();
        } catch (IllegalStateException e) {
            return "unknown: DJL's CudaUtils found no CUDA runtime library (libcudart) through JNA, so DJL uses no GPU;"
                    + " put the folder holding libcudart.so.12 on LD_LIBRARY_PATH (a Python install: site-packages/nvidia/cuda_runtime/lib)";
        } catch (RuntimeException | LinkageError e) {
            return "unknown: the CUDA runtime did not answer (" + e.getMessage() + ")";
        }
        int gpus;
        try {
            gpus = CudaUtils.getGpuCount();
        } catch (RuntimeException | LinkageError e) {
            return version + ", GPU count unknown (" + e.getMessage() + ")";
        }
        return version + ", " + gpus + " GPU(s)" + (gpus == 0 ? " usable (no device, or the driver refused: see CudaUtils' warning above;"
                + " nvidia-smi shows what the driver sees)" : "");
    }

    /** The flavor in effect: DJL's setting for an outside folder, else the one in the name of DJL's cache folder. */
    static String flavorOf(Path libtorch) {
        String set = flavorSetting();
        String name = libtorch.getFileName() == null ? "" : libtorch.getFileName().toString();
        // DJL unpacks the class-path build into <cache>/pytorch/<version>[-<build date>]-<flavor>-<classifier>
        Matcher m = Pattern.compile("\\d+\\.\\d+\\.\\d+(-\\d{8})?-(.+)-" + Pattern.quote(classifier())).matcher(name);
        if (m.matches()) return m.group(2);
        return set != null && !set.isBlank() ? set : "cpu-precxx11 (DJL's default for an outside folder)";
    }

    /** libcudnn beside libtorch, or in the nvidia packages of a Python install (site-packages/nvidia/cudnn/lib). */
    private static Optional<Path> cudnnLibrary(Path libtorch) {
        List<Path> places = new ArrayList<>(List.of(libtorch));
        Path sitePackages = libtorch.getParent() == null ? null : libtorch.getParent().getParent();
        if (sitePackages != null) places.add(sitePackages.resolve("nvidia").resolve("cudnn").resolve("lib"));
        for (Path place : places) {
            if (!Files.isDirectory(place)) continue;
            try (Stream<Path> files = Files.list(place)) {
                Optional<Path> found = files.filter(p -> p.getFileName().toString().startsWith("libcudnn.so")
                        || p.getFileName().toString().startsWith("cudnn64")).sorted().findFirst();
                if (found.isPresent()) return found;
            } catch (IOException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }
}
