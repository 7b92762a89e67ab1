package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.sun.jna.Platform;
import dev.retort.runtime.DjlRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link NativeHeap}: the policy read from its property, and freed tensor memory really leaving the process. */
class NativeHeapTest {
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @AfterEach
    void clear() {
        System.clearProperty(NativeHeap.PROPERTY);
    }

    @Test
    void theBoundIsOneGigabyteByDefaultASizeOrOffAndAnythingElseIsRefusedByName() {
        assertEquals(1L << 30, NativeHeap.bound());
        System.setProperty(NativeHeap.PROPERTY, "512m");
        assertEquals(512L << 20, NativeHeap.bound());
        System.setProperty(NativeHeap.PROPERTY, "0");
        assertEquals(0, NativeHeap.bound());
        System.setProperty(NativeHeap.PROPERTY, "off");
        assertEquals(-1, NativeHeap.bound());
        assertTrue(NativeHeap.describe().contains("kept for reuse") || NativeHeap.describe().contains("not glibc"), NativeHeap.describe());
        long before = NativeHeap.releases();
        NativeHeap.afterStep(NativeHeap.bound());
        assertEquals(before, NativeHeap.releases(), "off gives nothing back");
        System.setProperty(NativeHeap.PROPERTY, "always");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, NativeHeap::bound);
        assertTrue(e.getMessage().contains("-Dretort.malloc_trim=always"), e.getMessage());
    }

    /** A step that leaves less free than the bound keeps it; one that leaves more gives it back; 0 always does. */
    @Test
    void afterAStepFreedMemoryOverTheBoundIsGivenBack() {
        assumeTrue(NativeHeap.heldFree() >= 0, "glibc 2.33 or later");
        long held = NativeHeap.heldFree();
        System.setProperty(NativeHeap.PROPERTY, String.valueOf(held + (64L << 20)));
        long before = NativeHeap.releases();
        NativeHeap.afterStep(NativeHeap.bound());
        assertEquals(before, NativeHeap.releases(), "held " + held + " bytes, under the bound");
        System.setProperty(NativeHeap.PROPERTY, "0");
        NativeHeap.afterStep(NativeHeap.bound());
        assertEquals(before + 1, NativeHeap.releases(), "a bound of 0 gives back whatever is held");
    }

    /**
     * Tensors of 8 MiB freed between small live ones stay in the allocator's arena (holes it keeps for reuse); a
     * release gives at least half of what it holds free back, which the process's resident size shows.
     */
    @Test
    void freedTensorsHeldByTheAllocatorLeaveTheProcessOnRelease() throws IOException {
        assumeTrue(Platform.isLinux(), "malloc_trim is glibc's");
        try (NDManager m = engine.newBaseManager()) {
            m.ones(new Shape(2, 1024, 1024)).close();  // a freed 8 MiB mapping lets later ones come from the arena
            List<NDArray> big = new ArrayList<>(), small = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                big.add(m.ones(new Shape(2, 1024, 1024)));  // written, so resident
                small.add(m.ones(new Shape(64)));           // keeps the hole below it from merging into the top
            }
            big.forEach(NDArray::close);
            long held = residentKb();
            long free = NativeHeap.heldFree();
            long releases = NativeHeap.releases();
            NativeHeap.release();
            long after = residentKb();
            assertEquals(releases + 1, NativeHeap.releases());
            assertTrue(free > 32L << 20, "the allocator holds freed tensors: " + free / 1048576 + " MB free");
            assertTrue((held - after) * 1024 > free / 2, "released " + (held - after) / 1024 + " MB of the " + free / 1048576 + " MB held free");
            small.forEach(NDArray::close);
        }
    }

    private static long residentKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
