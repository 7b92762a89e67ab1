package dev.retort.study;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.framework.Version;

/**
 * The demo's trained teachers in the user's cache folder, each under a key of everything that determines its weights:
 * the run keys (architecture, data protocol and sizes, steps, learning rate, seed, …) and the versions of the code that
 * trains it, by their base version (major.minor.micro): bnd's qualifier is the build's timestamp, so a rebuild alone
 * does not train the teacher again, while a release of a bundle or of DJL does. Files: {@code demo-teacher-<key>.safetensors}, its description {@code demo-teacher-<key>.properties}
 * (mIoU, size, what the key covers) and {@code demo-teacher-<key>.lock}, held while the teacher is trained so that a
 * second demo waits for it instead of training it again or reading half a file.
 */
final class TeacherCache {
    /** Run keys that do not change the trained weights (where files go, how often it logs). */
    static final Set<String> NOT_DETERMINING = Set.of("name", "output", "log_every", "checkpoint_every", "prefetch", "threads");

    /** A teacher in the cache: its weights, validation mIoU (a fraction), steps, parameters and GMACs. */
    record Entry(Path weights, double miou, long steps, long params, double gflops) {}

    /** Trains the teacher and returns where its weights are (outside the cache; they are copied in). */
    @FunctionalInterface
    interface Training {
        Entry train() throws IOException, InterruptedException;
    }

    private static final Map<String, Object> IN_PROCESS = new ConcurrentHashMap<>();  // a FileLock excludes other processes only

    private final Path dir;

    TeacherCache(Path dir) {
        this.dir = dir;
    }

    /**
     * The key of a teacher: a SHA-256 over its run description (less {@link #NOT_DETERMINING}) and the code versions
     * (their base versions, see {@link #baseVersions}), each as a sorted {@code key=value} line; 16 hexadecimal digits.
     */
    static String key(Map<String, ?> description, Map<String, String> versions) {
        StringBuilder text = new StringBuilder();
        new TreeMap<>(description).forEach((k, v) -> {
            if (!NOT_DETERMINING.contains(k)) text.append("run ").append(k).append('=').append(v).append('\n');
        });
        baseVersions(versions).forEach((k, v) -> text.append("code ").append(k).append('=').append(v).append('\n'));
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }

    /**
     * Each OSGi version without its qualifier ({@code 0.1.0.202612010150} → {@code 0.1.0}), sorted by name: the
     * qualifier bnd writes is the build time, which says nothing about what the code computes.
     */
    static Map<String, String> baseVersions(Map<String, String> versions) {
        Map<String, String> base = new TreeMap<>();
        versions.forEach((name, version) -> {
            Version v;
            try {
                v = Version.parseVersion(version);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("the version of " + name + " is not an OSGi version: '" + version + "'", e);
            }
            base.put(name, new Version(v.getMajor(), v.getMinor(), v.getMicro()).toString());
        });
        return base;
    }

    Path weights(String key) {
        return dir.resolve("demo-teacher-" + key + ".safetensors");
    }

    private Path info(String key) {
        return dir.resolve("demo-teacher-" + key + ".properties");
    }

    /** The cached teacher of {@code key}, or {@code null}; the description is written last, so its presence marks a complete entry. */
    Entry find(String key) throws IOException {
        if (!Files.isRegularFile(info(key)) || !Files.isRegularFile(weights(key))) return null;
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(info(key))) {
            p.load(r);
        }
        try {
            return new Entry(weights(key), Double.parseDouble(p.getProperty("miou")), Long.parseLong(p.getProperty("steps")),
                    Long.parseLong(p.getProperty("params")), Double.parseDouble(p.getProperty("gflops")));
        } catch (RuntimeException bad) {
            return null;  // an unreadable description: train again, which replaces it
        }
    }

    /**
     * The teacher of {@code key}: from the cache, or trained by {@code training} and then cached. Holds the key's lock
     * meanwhile, so a second demo (this process or another) waits and then finds it cached.
     */
    Entry obtain(String key, Map<String, ?> description, Map<String, String> versions, Training training, PrintStream log)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        synchronized (IN_PROCESS.computeIfAbsent(key, k -> new Object())) {
            try (FileChannel channel = FileChannel.open(dir.resolve("demo-teacher-" + key + ".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = lock(channel, log)) {
                Entry cached = find(key);
                if (cached != null) return cached;
                Entry trained = training.train();
                Path tmp = Files.createTempFile(dir, "demo-teacher-" + key, ".tmp");
                try {
                    Files.copy(trained.weights(), tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, weights(key), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    Properties p = new Properties();
                    p.setProperty("miou", String.valueOf(trained.miou()));
                    p.setProperty("steps", String.valueOf(trained.steps()));
                    p.setProperty("params", String.valueOf(trained.params()));
                    p.setProperty("gflops", String.valueOf(trained.gflops()));
                    new TreeMap<>(description).forEach((k, v) -> {
                        if (!NOT_DETERMINING.contains(k)) p.setProperty("run." + k, String.valueOf(v));
                    });
                    baseVersions(versions).forEach((k, v) -> p.setProperty("code." + k, v));
                    try (Writer w = Files.newBufferedWriter(tmp)) {
                        p.store(w, "the demo's teacher " + key + ": what determined it (run keys, code versions) and its validation mIoU");
                    }
                    Files.move(tmp, info(key), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } finally {
                    Files.deleteIfExists(tmp);
                }
                return new Entry(weights(key), trained.miou(), trained.steps(), trained.params(), trained.gflops());
            }
        }
    }

    private static FileLock lock(FileChannel channel, PrintStream log) throws IOException {
        FileLock lock = channel.tryLock();
        if (lock != null) return lock;
        log.println("waiting for another demo that is training the same teacher …");
        return channel.lock();
    }
}
