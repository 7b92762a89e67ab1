package dev.retort.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The allocator setting: sizes and 'glibc' accepted, anything else refused naming the key; what is in effect said. */
class NativeAllocatorTest {
    @Test
    void theSettingIsASizeOrGlibc() {
        assertEquals(NativeAllocator.DEFAULT_THRESHOLD, NativeAllocator.threshold(null));
        assertEquals(65536, NativeAllocator.threshold("65536"));
        assertEquals(-1, NativeAllocator.threshold("GLIBC"));
        for (String bad : new String[] {"128k", "-1", "33554433", "lots"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeAllocator.threshold(bad));
            assertTrue(e.getMessage().startsWith(NativeAllocator.PROPERTY) && e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void onGlibcTheThresholdIsFixedUnlessTheUserSaidOtherwise() {
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux"), "glibc is Linux's");
        String fixed = NativeAllocator.configure(null, null);
        Assumptions.assumeTrue(fixed.startsWith("glibc "), "this Linux's C library is not glibc: " + fixed);
        assertTrue(fixed.contains("mmap threshold fixed at 128 KiB"), fixed);
        assertTrue(NativeAllocator.configure("glibc", null).contains("its dynamic mmap threshold"));
        assertTrue(NativeAllocator.configure(null, "262144").contains("mmap threshold 262144 bytes as MALLOC_MMAP_THRESHOLD_ sets it"));
        assertTrue(NativeAllocator.configure("65536", null).contains("fixed at 64 KiB"));
        NativeAllocator.configure(null, null);
    }
}
