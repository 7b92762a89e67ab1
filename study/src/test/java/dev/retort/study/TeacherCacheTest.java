package dev.retort.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo teacher's cache key and the cache's single training under concurrent demos. */
class TeacherCacheTest {
    private static final Map<String, String> CODE = Map.of("dev.retort.runner", "0.1.0.202611300000", "package ai.djl", "0.35.1");

    @Test
    void theKeyChangesWithEveryInputThatDeterminesTheTeacher() {
        String base = TeacherCache.key(Demo.teacherRun(1200), CODE);
        for (Map.Entry<String, String> change : Map.of("iterations", "1199", "seed", "8", "data.train_size", "3999", "data.height", "32",
                "student.embed_dims", "32,64,160,257", "lr", "1e-3", "data.protocol", "none", "batch_size", "4").entrySet()) {
            Map<String, Object> run = new TreeMap<>(Demo.teacherRun(1200));
            run.put(change.getKey(), change.getValue());
            assertNotEquals(base, TeacherCache.key(run, CODE), change.getKey() + " changes the teacher");
        }
        Map<String, String> newer = new HashMap<>(CODE);
        newer.put("dev.retort.runner", "0.1.1.202611300000");
        assertNotEquals(base, TeacherCache.key(Demo.teacherRun(1200), newer), "a runner of another micro version");
        newer = new HashMap<>(CODE);
        newer.put("package ai.djl", "0.36.0");
        assertNotEquals(base, TeacherCache.key(Demo.teacherRun(1200), newer), "another DJL");
        assertNotEquals(base, TeacherCache.key(Demo.teacherRun(60), CODE), "a smoke run's shorter teacher is another teacher");
    }

    @Test
    void aRebuildThatOnlyChangesTheQualifierKeepsTheKey() {
        String base = TeacherCache.key(Demo.teacherRun(1200), CODE);
        Map<String, String> rebuilt = new HashMap<>(CODE);
        rebuilt.put("dev.retort.runner", "0.1.0.202612010153");  // bnd's qualifier: the build's timestamp
        assertEquals(base, TeacherCache.key(Demo.teacherRun(1200), rebuilt));
        rebuilt.put("dev.retort.runner", "0.1.0");
        assertEquals(base, TeacherCache.key(Demo.teacherRun(1200), rebuilt), "no qualifier at all");
        rebuilt.put("dev.retort.runner", "0.1.1.202611300000");
        assertNotEquals(base, TeacherCache.key(Demo.teacherRun(1200), rebuilt), "micro 0 -> 1");
        rebuilt.put("dev.retort.runner", "0.2.0.202611300000");
        assertNotEquals(base, TeacherCache.key(Demo.teacherRun(1200), rebuilt), "minor 1 -> 2");
        assertEquals(Map.of("dev.retort.runner", "0.1.0", "package ai.djl", "0.35.1"), TeacherCache.baseVersions(CODE));
    }

    @Test
    void aVersionThatIsNotAnOsgiVersionIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TeacherCache.key(Demo.teacherRun(1200), Map.of("package ai.djl", "zero.35")));
        assertEquals("the version of package ai.djl is not an OSGi version: 'zero.35'", e.getMessage());
    }

    @Test
    void theKeyIgnoresWhereTheRunWritesAndHowOftenItLogs() {
        String base = TeacherCache.key(Demo.teacherRun(1200), CODE);
        Map<String, Object> run = new HashMap<>(Demo.teacherRun(1200));  // another map order
        run.put("output", "/elsewhere/teacher");
        run.put("name", "teacher");
        run.put("log_every", "1");
        assertEquals(base, TeacherCache.key(run, new TreeMap<>(CODE)));
        assertEquals(16, base.length());
    }

    @Test
    void aTeacherIsTrainedOnceThenFoundEvenByTwoDemosAtOnce(@TempDir Path dir) throws Exception {
        TeacherCache cache = new TeacherCache(dir.resolve("cache"));
        String key = TeacherCache.key(Demo.teacherRun(1200), CODE);
        assertNull(cache.find(key));
        AtomicInteger trainings = new AtomicInteger();
        CountDownLatch inTraining = new CountDownLatch(1);
        TeacherCache.Training training = () -> {
            trainings.incrementAndGet();
            inTraining.countDown();
            Thread.sleep(300);  // the other demo asks meanwhile
            Path w = Files.write(dir.resolve("best-" + trainings.get() + ".safetensors"), new byte[] {1, 2, 3, 4});
            return new TeacherCache.Entry(w, 0.5, 1200, 1234, 0.25);
        };
        PrintStream log = new PrintStream(new ByteArrayOutputStream());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<TeacherCache.Entry> first = pool.submit(() -> cache.obtain(key, Demo.teacherRun(1200), CODE, training, log));
            inTraining.await(10, TimeUnit.SECONDS);
            Future<TeacherCache.Entry> second = pool.submit(() -> cache.obtain(key, Demo.teacherRun(1200), CODE, training, log));
            for (TeacherCache.Entry e : List.of(first.get(10, TimeUnit.SECONDS), second.get(10, TimeUnit.SECONDS))) {
                assertEquals(cache.weights(key), e.weights());
                assertEquals(0.5, e.miou());
                assertEquals(1200, e.steps());
                assertEquals(1234, e.params());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, trainings.get(), "the second demo waited and took the cached teacher");
        assertArrayEquals(new byte[] {1, 2, 3, 4}, Files.readAllBytes(cache.weights(key)));
        TeacherCache.Entry again = new TeacherCache(dir.resolve("cache")).obtain(key, Demo.teacherRun(1200), CODE, training, log);
        assertEquals(1, trainings.get(), "a later demo finds it too");
        assertEquals(0.25, again.gflops());
        try (var files = Files.list(dir.resolve("cache"))) {
            assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".tmp")).toList(), "no temporary file is left");
        }
    }
}
