package dev.retort.runtime;

import com.sun.jna.NativeLibrary;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the native allocator does with freed tensor memory, which the peak resident size depends on. On Linux
 * libtorch's CPU tensors come from glibc's {@code malloc}, whose mmap threshold is dynamic: each freed mapped block
 * raises it to that block's size (up to 32 MiB), so blocks up to that size then come from the heap, where freed ones
 * stay resident, fragmented between live ones. glibc's {@code MALLOC_MMAP_THRESHOLD_} fixes the threshold (and stops
 * the adjustment): every block above it is mapped alone and returned when freed, at the price of fresh pages (page
 * faults) for every such allocation. Retort leaves the choice to the user (README, Memory, has the measured trade-off)
 * and says what is in effect ({@code kd:info}, {@code kd:bench}).
 */
public final class NativeAllocator {
    /** glibc's setting that fixes the mmap threshold. */
    static final String MMAP_THRESHOLD = "MALLOC_MMAP_THRESHOLD_";

    private NativeAllocator() {}

    /** The allocator of this process and its setting, in words. */
    public static String describe() {
        return describe(glibcVersion(), System.getenv());
    }

    static String describe(String glibcVersion, Map<String, String> environment) {
        if (glibcVersion == null) return "not glibc: the C library's own malloc";
        String mmap = environment.get(MMAP_THRESHOLD);
        StringBuilder settings = new StringBuilder();  // every setting glibc's malloc reads from the environment
        new TreeMap<>(environment).forEach((k, v) -> {
            if (k.startsWith("MALLOC_") || k.equals("GLIBC_TUNABLES")) settings.append(", ").append(k).append('=').append(v.strip());
        });
        if ("0".equals(environment.getOrDefault("MALLOC_MMAP_MAX_", "").strip())) {
            return "glibc " + glibcVersion + " malloc, no mappings: every block from the heap" + settings + " (freed blocks may stay resident)";
        }
        if (mmap == null) {
            return "glibc " + glibcVersion + " malloc, dynamic mmap threshold" + settings
                    + " (freed tensors up to 32 MiB may stay resident; " + MMAP_THRESHOLD + "=131072 returns them, see README, Memory)";
        }
        return "glibc " + glibcVersion + " malloc, fixed mmap threshold" + settings;
    }

    private static String glibcVersion() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) return null;
        try {
            return NativeLibrary.getInstance("c").getFunction("gnu_get_libc_version").invokeString(new Object[0], false);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return null;  // musl and other C libraries
        }
    }
}
