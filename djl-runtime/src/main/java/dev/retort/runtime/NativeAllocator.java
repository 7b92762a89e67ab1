package dev.retort.runtime;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import java.util.Locale;

/**
 * How much freed tensor memory the process keeps. On Linux libtorch's CPU tensors come from glibc's {@code malloc},
 * whose mmap threshold is dynamic: each freed mapped block raises it to that block's size (up to 32 MiB), so after the
 * first large tensors of a step are freed, every block up to that size is carved from the heap, and freed heap blocks
 * stay resident, fragmented between live ones. A training step frees and allocates hundreds of such tensors; at
 * 512×1024 (TransKD-Base) that kept about 1.3 GB more resident than the step ever held at once. Retort therefore fixes
 * the threshold at glibc's initial 128 KiB ({@code mallopt(M_MMAP_THRESHOLD)}, which also stops the dynamic
 * adjustment): every block above it is mapped alone and returned to the system when freed.
 *
 * <p>The setting is {@value #PROPERTY} (system property) or {@value #ENVIRONMENT} (environment): a size in bytes, or
 * {@code glibc} to leave glibc's own behaviour. Where the user set glibc's {@code MALLOC_MMAP_THRESHOLD_} Retort changes
 * nothing. Elsewhere than glibc nothing is changed. {@link #describe()} says what is in effect ({@code kd:info},
 * {@code kd:bench}).
 */
public final class NativeAllocator {
    public static final String PROPERTY = "retort.malloc.mmap_threshold";
    public static final String ENVIRONMENT = "RETORT_MALLOC_MMAP_THRESHOLD";
    /** glibc's initial threshold, which Retort keeps fixed. */
    public static final long DEFAULT_THRESHOLD = 128 * 1024;
    /** glibc's upper bound for the threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX). */
    static final long MAX_THRESHOLD = 32L * 1024 * 1024;
    private static final int M_MMAP_THRESHOLD = -3;

    private static volatile String described = "not configured (the engine was not started through DjlRuntime)";

    private NativeAllocator() {}

    /** Applies the setting once, before the engine allocates; returns what is in effect. */
    static synchronized String apply() {
        described = configure(setting(), System.getenv("MALLOC_MMAP_THRESHOLD_"));
        return described;
    }

    /** What the process's native allocator does with freed tensor memory, in words. */
    public static String describe() {
        return described;
    }

    private static String setting() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) v = System.getenv(ENVIRONMENT);
        return v == null || v.isBlank() ? null : v.strip();
    }

    /**
     * @param setting  the user's value, or null for the default
     * @param glibcEnv glibc's own {@code MALLOC_MMAP_THRESHOLD_}, or null
     */
    static String configure(String setting, String glibcEnv) {
        long threshold = threshold(setting);
        String version = glibcVersion();
        if (version == null) return "not glibc: the system allocator's own behaviour (" + PROPERTY + " applies to glibc only)";
        if (glibcEnv != null) return "glibc " + version + ", mmap threshold " + glibcEnv.strip() + " bytes as MALLOC_MMAP_THRESHOLD_ sets it";
        if (threshold < 0) {
            return "glibc " + version + ", its dynamic mmap threshold (" + PROPERTY + " = glibc): freed blocks up to 32 MiB may stay resident";
        }
        Function mallopt = NativeLibrary.getInstance("c").getFunction("mallopt");
        if (mallopt.invokeInt(new Object[] {M_MMAP_THRESHOLD, (int) threshold}) != 1) {
            throw new IllegalStateException("glibc refused mallopt(M_MMAP_THRESHOLD, " + threshold + ")");
        }
        return "glibc " + version + ", mmap threshold fixed at " + human(threshold) + " (" + PROPERTY + "; 'glibc' leaves glibc's dynamic threshold):"
                + " freed tensors above it return to the system at once";
    }

    /** The threshold in bytes, or -1 for glibc's own behaviour. */
    static long threshold(String setting) {
        if (setting == null) return DEFAULT_THRESHOLD;
        if (setting.toLowerCase(Locale.ROOT).equals("glibc")) return -1;
        long bytes;
        try {
            bytes = Long.parseLong(setting);
        } catch (NumberFormatException e) {
            bytes = -1;
        }
        if (bytes < 0 || bytes > MAX_THRESHOLD) {
            throw new IllegalArgumentException(PROPERTY + " must be a size in bytes from 0 to " + MAX_THRESHOLD + " (glibc's limit), or 'glibc'; got '"
                    + setting + "'");
        }
        return bytes;
    }

    private static String glibcVersion() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) return null;
        try {
            return NativeLibrary.getInstance("c").getFunction("gnu_get_libc_version").invokeString(new Object[0], false);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return null;  // musl and other C libraries
        }
    }

    private static String human(long bytes) {
        return bytes % 1024 == 0 ? bytes / 1024 + " KiB" : bytes + " bytes";
    }
}
