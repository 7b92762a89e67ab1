package dev.retort.runner.teachercache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.safetensors.SafeTensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The teacher-output cache on 44×60 scenes (not a multiple of 32: stage maps 11×15, 6×8, 3×4, 2×2): the cached taps
 * keep the teacher's own shapes, a memory hit gives the uncached losses bit for bit, a disk hit the computing run's.
 */
class OddSizeCacheTest {
    @TempDir
    Path dir;

    @BeforeEach
    void cold() {
        MemoryStore.clearAll();
    }

    private static Map<String, Object> oddRun(Path output, String cache) {
        Map<String, Object> run = CacheRuns.run(output, "csf,pea", cache);
        run.put("data.height", "44");
        run.put("data.width", "60");
        return run;
    }

    private static CacheRuns.Done ok(CacheRuns.Done d) {
        assertNull(d.failure(), d::log);
        assertEquals(8, d.losses().size(), d.log());
        assertTrue(d.losses().stream().allMatch(Double::isFinite), d.losses().toString());
        return d;
    }

    @Test
    void cachedTapsOfAnOddSizeGiveTheComputedLosses() throws Exception {
        CacheRuns.Done off = ok(CacheRuns.train(oddRun(dir.resolve("off"), "off")));
        CacheRuns.Done cold = ok(CacheRuns.train(oddRun(dir.resolve("cold"), "memory")));
        CacheRuns.Done warm = ok(CacheRuns.train(oddRun(dir.resolve("warm"), "memory")));
        assertTrue(warm.log().contains("teacher cache: 8 batch(es) read, 0 computed"), warm.log());
        assertEquals(off.losses(), cold.losses());
        assertEquals(off.losses(), warm.losses());

        Path cache = dir.resolve("cache");
        Map<String, Object> disk = oddRun(dir.resolve("disk"), "disk");
        disk.put("teacher.cache_dir", cache.toString());
        CacheRuns.Done computed = ok(CacheRuns.train(disk));
        List<Path> shards;
        try (Stream<Path> files = Files.walk(cache)) {
            shards = files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
        assertEquals(8, shards.size(), shards.toString());
        try (SafeTensorsFile f = SafeTensorsFile.open(shards.get(0))) {
            // the tiny teacher's widths are 16, 32, 48, 64
            assertEquals(List.of(2L, 16L, 11L, 15L), shape(f, "features.1"));
            assertEquals(List.of(2L, 32L, 6L, 8L), shape(f, "features.2"));
            assertEquals(List.of(2L, 48L, 3L, 4L), shape(f, "features.3"));
            assertEquals(List.of(2L, 64L, 2L, 2L), shape(f, "features.4"));
            assertEquals(List.of(2L, 165L, 16L), shape(f, "embeds.1"));
        }
        disk.put("output", dir.resolve("disk-again").toString());
        CacheRuns.Done read = ok(CacheRuns.train(disk));
        assertTrue(read.log().contains("teacher cache: 8 batch(es) read, 0 computed"), read.log());
        assertEquals(computed.losses(), read.losses());
        assertEquals(computed.ce(), read.ce());
    }

    private static List<Long> shape(SafeTensorsFile f, String tap) throws Exception {
        return Arrays.stream(f.info(tap).shape()).boxed().toList();
    }
}
