package dev.retort.runtime;

import ai.djl.engine.Engine;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.stream.Collectors;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;

/**
 * DJL as infrastructure: configured and started on the class path before the OSGi framework, then offered to
 * bundles through the system bundle.
 *
 * <p>Why not a bundle: libtorch loads once per JVM (a refreshed bundle cannot load it again) and DJL finds its
 * engine through the thread context class loader. Starting it here, once, avoids both traps; project bundles
 * stay hot-swappable and simply import {@code ai.djl.*} from the system bundle.
 */
public final class DjlRuntime {
    /** The one engine Retort uses. */
    public static final String ENGINE = "PyTorch";
    /** Service property with the engine name (filter with {@code (engine.name=PyTorch)}). */
    public static final String ENGINE_NAME_PROPERTY = "engine.name";
    /** Service property with the engine's native version, e.g. 2.7.1. */
    public static final String ENGINE_VERSION_PROPERTY = "engine.version";
    /** Service properties with the natives in use ({@link Libtorch.Natives}): flavor, folder, CUDA, cuDNN. */
    public static final String FLAVOR_PROPERTY = "engine.flavor", LIBRARY_PROPERTY = "engine.library", CUDA_PROPERTY = "engine.cuda",
            CUDNN_PROPERTY = "engine.cudnn";
    /** Service property: what the native allocator does with freed tensor memory ({@link NativeAllocator#describe()}). */
    public static final String ALLOCATOR_PROPERTY = "engine.allocator";
    /** Name of the setting (system property or environment variable) DJL reads its cache folder from. */
    public static final String CACHE_DIR = "DJL_CACHE_DIR";

    private DjlRuntime() {}

    /**
     * Forces offline mode (nothing is ever downloaded: the natives come from the class path), opts out of
     * DJL's usage tracking, quiets DJL's logging, and chooses the folder libtorch is unpacked into: an explicit
     * {@code DJL_CACHE_DIR} (system property or environment) wins, {@code defaultCacheDir} otherwise.
     *
     * @return the cache folder in effect
     */
    public static Path configure(Path defaultCacheDir) {
        System.setProperty("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
        setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        // CudaUtils' warnings (driver refused, no device) are what a user of CUDA natives needs to read; with the CPU build
        // they come from DJL's platform probe on every start, where they are not news.
        String flavor = System.getenv(Libtorch.FLAVOR) != null ? System.getenv(Libtorch.FLAVOR) : System.getProperty(Libtorch.FLAVOR, "cpu");
        if (!flavor.startsWith("cu")) setIfAbsent("org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "error");
        String cache = System.getProperty(CACHE_DIR);
        if (cache == null || cache.isBlank()) cache = System.getenv(CACHE_DIR);
        if (cache == null || cache.isBlank()) {
            cache = defaultCacheDir.toAbsolutePath().toString();
            System.setProperty(CACHE_DIR, cache);
        }
        return Path.of(cache);
    }

    /** Loads the PyTorch engine (and its natives) with this class's loader as context class loader. */
    public static Engine start() {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(DjlRuntime.class.getClassLoader());
        try {
            Engine engine = Engine.getEngine(ENGINE);
            Libtorch.verifyLoaded();
            return engine;
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    /** {@link #configure} then {@link #start}: the usual way to get the engine outside OSGi (tools, tests). */
    public static Engine startOffline(Path defaultCacheDir) {
        configure(defaultCacheDir);
        return start();
    }

    /** Registers the engine as an {@link Engine} service of the given (system bundle) context. */
    public static ServiceRegistration<Engine> register(BundleContext context, Engine engine) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ENGINE_NAME_PROPERTY, engine.getEngineName());
        props.put(ENGINE_VERSION_PROPERTY, engine.getVersion());
        Libtorch.Natives natives = Libtorch.natives(engine);
        props.put(FLAVOR_PROPERTY, natives.flavor());
        props.put(LIBRARY_PROPERTY, natives.path());
        props.put(CUDA_PROPERTY, natives.cuda());
        props.put(CUDNN_PROPERTY, natives.cudnn());
        props.put(ALLOCATOR_PROPERTY, NativeAllocator.describe());
        props.put(Constants.SERVICE_DESCRIPTION, "DJL " + engine.getEngineName() + " engine " + engine.getVersion());
        return context.registerService(Engine.class, engine, props);
    }

    /**
     * The packages the system bundle must export ({@code org.osgi.framework.system.packages.extra}): every
     * {@code ai.djl} package plus slf4j and gson, versioned.
     */
    public static String systemPackages() {
        try (InputStream in = DjlRuntime.class.getResourceAsStream("system-packages.txt")) {
            if (in == null) throw new IllegalStateException("system-packages.txt missing from " + DjlRuntime.class.getName());
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return Arrays.stream(text.split("\\R")).map(String::strip).filter(s -> !s.isEmpty())
                    .collect(Collectors.joining(","));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) System.setProperty(key, value);
    }
}
