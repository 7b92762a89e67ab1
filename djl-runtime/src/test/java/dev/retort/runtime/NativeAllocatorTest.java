package dev.retort.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What kd:info and kd:bench say about the native allocator: glibc's threshold as the environment sets it, or another C library. */
class NativeAllocatorTest {
    @Test
    void saysWhetherGlibcKeepsFreedBlocks() {
        String dynamic = NativeAllocator.describe("2.36", Map.of());
        assertEquals("glibc 2.36 malloc, dynamic mmap threshold (freed tensors up to 32 MiB may stay resident; MALLOC_MMAP_THRESHOLD_=131072"
                + " returns them, see README, Memory)", dynamic);
        assertEquals("glibc 2.36 malloc, fixed mmap threshold, MALLOC_MMAP_THRESHOLD_=131072, MALLOC_TRIM_THRESHOLD_=0",
                NativeAllocator.describe("2.36", Map.of("MALLOC_MMAP_THRESHOLD_", " 131072", "MALLOC_TRIM_THRESHOLD_", "0", "PATH", "/bin")));
        assertEquals("glibc 2.36 malloc, dynamic mmap threshold, MALLOC_ARENA_MAX=2 (freed tensors up to 32 MiB may stay"
                + " resident; MALLOC_MMAP_THRESHOLD_=131072 returns them, see README, Memory)",
                NativeAllocator.describe("2.36", Map.of("MALLOC_ARENA_MAX", "2")));
        assertEquals("glibc 2.36 malloc, no mappings: every block from the heap, MALLOC_ARENA_MAX=1, MALLOC_MMAP_MAX_=0 (freed blocks may stay resident)",
                NativeAllocator.describe("2.36", Map.of("MALLOC_MMAP_MAX_", "0", "MALLOC_ARENA_MAX", "1")));
        assertEquals("not glibc: the C library's own malloc", NativeAllocator.describe(null, Map.of("MALLOC_MMAP_THRESHOLD_", "1")));
    }

    @Test
    void thisProcessIsDescribed() {
        String here = NativeAllocator.describe();
        boolean linux = System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux");
        assertTrue(linux ? here.startsWith("glibc ") || here.startsWith("not glibc") : here.startsWith("not glibc"), here);
    }
}
