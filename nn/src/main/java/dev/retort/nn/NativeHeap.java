package dev.retort.nn;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Structure;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * A bound on the freed tensor memory glibc's {@code malloc} keeps for reuse: after a training step, when its arenas
 * hold more than the bound free ({@code mallinfo2}), that memory goes back to the operating system
 * ({@code malloc_trim(0)}).
 *
 * <p>Why: libtorch's CPU tensors come from {@code malloc}. A freed block up to 32 MiB stays in the thread's arena for
 * reuse, and the arena keeps the most it ever held: at 512×1024 (TransKD-Base, batch 2) the training thread's arena
 * held 2.5 GB free between steps and the peak resident size climbed over five steps to above 4 GB. Reuse saves the
 * page faults of fresh memory, so a step that leaves little free (256×512) keeps it, and one that leaves a lot gives it
 * back. {@code -Dretort.malloc_trim=off} never gives it back, {@code =0} always, {@code =512m} sets the bound (default
 * 1g); the README's Memory section has the measured trade-off.
 */
public final class NativeHeap {
    /** The system property with the bound: a size (1g, 512m, 0) or off. */
    public static final String PROPERTY = "retort.malloc_trim";
    /** The bound when the property is not set. */
    public static final long DEFAULT_BOUND = 1L << 30;

    private static final Function TRIM = glibc("malloc_trim"), INFO = glibc("mallinfo2");
    private static final LongAdder RELEASES = new LongAdder();

    private NativeHeap() {}

    /** The bound on freed memory kept, in bytes, or -1 for off; refuses a value that is neither a size nor off, by name. */
    public static long bound() {
        String value = System.getProperty(PROPERTY);
        if (value == null) return DEFAULT_BOUND;
        String v = value.strip().toLowerCase(Locale.ROOT);
        if (v.equals("off")) return -1;
        return ByteSizes.parse(v).orElseThrow(() -> new IllegalArgumentException("-D" + PROPERTY + "=" + value
                + " is neither off nor a size such as 1g or 512m (the most freed native memory kept between training steps)"));
    }

    /**
     * After a step's arrays are closed: gives back what the allocator holds free when that is more than {@code bound}
     * (a run reads {@link #bound()} once, at its start).
     */
    public static void afterStep(long bound) {
        if (bound < 0 || TRIM == null || INFO == null) return;
        if (heldFree() > bound) release();
    }

    /** Bytes the allocator holds free in its arenas (not counting what it could not give back anyway), or -1 if unknown. */
    public static long heldFree() {
        if (INFO == null) return -1;
        MallInfo2 info = (MallInfo2) INFO.invoke(MallInfo2.class, new Object[0]);
        return info.fordblks;
    }

    /** Gives back what the allocator holds free now, whatever the bound. */
    public static void release() {
        if (TRIM == null) return;
        TRIM.invokeInt(new Object[] {0L});
        RELEASES.increment();
    }

    /** How many times this process has given freed memory back (a test or a benchmark subtracts two counts). */
    public static long releases() {
        return RELEASES.sum();
    }

    /** The policy in effect, in words (for {@code kd:info} and {@code kd:bench}). */
    public static String describe() {
        if (TRIM == null || INFO == null) return "freed native memory stays with the allocator (not glibc 2.33 or later: no malloc_trim/mallinfo2)";
        long bound = bound();
        if (bound < 0) return "freed native memory kept for reuse between steps (-D" + PROPERTY + "=off)";
        return "freed native memory over " + ByteSizes.human(bound) + " returned after a training step (malloc_trim; -D" + PROPERTY
                + "=off keeps it, =0 returns all)";
    }

    private static Function glibc(String name) {
        if (!Platform.isLinux()) return null;
        try {
            return NativeLibrary.getInstance(Platform.C_LIBRARY_NAME).getFunction(name);
        } catch (UnsatisfiedLinkError e) {
            return null;  // musl, or a glibc before 2.33 (no mallinfo2)
        }
    }

    /** glibc's {@code struct mallinfo2}: ten size_t fields; fordblks is the free bytes in the arenas. */
    public static class MallInfo2 extends Structure implements Structure.ByValue {
        public long arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;

        @Override
        protected List<String> getFieldOrder() {
            return List.of("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost");
        }
    }
}
