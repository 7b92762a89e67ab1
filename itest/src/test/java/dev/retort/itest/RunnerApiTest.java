package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.backbone.ModelCost;
import dev.retort.api.backbone.NetworkSpec;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.distill.Distiller;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunListener;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/** The runner as the api's Runner service: runs started and followed without polling, listeners off the training thread, ranking. */
@ExtendWith({BundleContextExtension.class, ServiceExtension.class})
class RunnerApiTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    Runner runner;

    private static Map<String, Object> tiny(Path out, int steps) {
        Map<String, Object> m = new TreeMap<>(Map.ofEntries(Map.entry("name", "api"), Map.entry("output", out.toString()), Map.entry("seed", "4"),
                Map.entry("modules", "csf,pea"),
                Map.entry("teacher", "mit-b2"), Map.entry("teacher.embed_dims", "16,32,48,64"), Map.entry("teacher.depths", "1,1,1,1"),
                Map.entry("teacher.num_heads", "1,2,3,4"), Map.entry("teacher.decoder_dim", "32"),
                Map.entry("student", "mit-b0"), Map.entry("student.embed_dims", "8,16,24,32"), Map.entry("student.depths", "1,1,1,1"),
                Map.entry("student.num_heads", "1,2,3,4"), Map.entry("student.decoder_dim", "16"),
                Map.entry("dataset", "synthetic"), Map.entry("data.height", "32"), Map.entry("data.width", "64"),
                Map.entry("data.train_size", "8"), Map.entry("data.val_size", "2"), Map.entry("batch_size", "2"),
                Map.entry("iterations", String.valueOf(steps)), Map.entry("eval_every", "1000"), Map.entry("decay_per", "iteration"),
                Map.entry("threads", "1"), Map.entry("log_every", "1")));
        return m;
    }

    @Test
    void aStuckListenerNeverStallsTrainingAndTheRequestsListenerHasEveryEventBeforeCompletion(@TempDir Path dir) throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<RunEvent> slow = new CopyOnWriteArrayList<>();
        ServiceRegistration<RunListener> stuck = context.registerService(RunListener.class, e -> {
            try {
                release.await();  // holds its own thread until the test lets go
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            slow.add(e);
        }, null);
        List<RunEvent> own = new CopyOnWriteArrayList<>();
        Thread[] threads = new Thread[1];
        try {
            TrainingRun run = runner.start(new RunRequest(tiny(dir.resolve("out"), 6), null, false, new PrintStream(PrintStream.nullOutputStream()), e -> {
                threads[0] = Thread.currentThread();
                own.add(e);
            }, 0));
            RunResult result = run.completion().toCompletableFuture().get(120, TimeUnit.SECONDS);  // while the other listener is stuck
            assertEquals(RunState.FINISHED, result.state());
            assertEquals(6, result.steps());
            assertEquals(6, result.totalLosses().size());
            assertTrue(result.moduleParams() > 0, "csf and pea train parameters of their own");
            assertEquals(RunEvent.Type.STARTED, own.stream().filter(e -> e.type() != RunEvent.Type.MODULES_CHANGED).findFirst().orElseThrow().type());
            assertEquals(RunEvent.Type.FINISHED, own.get(own.size() - 1).type(), "completion comes after the request's listener had the last event");
            assertEquals(6, own.stream().filter(e -> e.type() == RunEvent.Type.STEP).count());
            assertTrue(threads[0] != null && !threads[0].getName().startsWith("retort-train"), "events arrive off the training thread: " + threads[0]);
            assertTrue(slow.isEmpty(), "the stuck listener has had nothing yet");
        } finally {
            release.countDown();
        }
        long deadline = System.currentTimeMillis() + 10_000;
        while (slow.size() < own.size() && System.currentTimeMillis() < deadline) Thread.sleep(20);
        assertEquals(own.stream().map(RunEvent::type).toList(), slow.stream().map(RunEvent::type).toList(), "the slow listener gets every event, in order");
        stuck.unregister();
    }

    @Test
    void aBetterRankedBackboneReplacesTheBuiltInOne(@TempDir Path dir) throws Exception {
        Backbone builtIn = context.getService(context.getServiceReferences(Backbone.class, "(retort.backbone.variants=mit-b0)").iterator().next());
        AtomicInteger builds = new AtomicInteger();
        Backbone wrapper = new Backbone() {  // a third party's "mit" that delegates and counts
            public String name() {
                return "mit-thirdparty";
            }

            public List<String> variants() {
                return builtIn.variants();
            }

            public NetworkSpec describe(String variant, Map<String, ?> config) {
                return builtIn.describe(variant, config);
            }

            public ModelCost cost(String variant, Map<String, ?> config, int height, int width) {
                return builtIn.cost(variant, config, height, width);
            }

            public SegmentationNetwork build(String variant, Map<String, ?> config, NDManager manager, long seed) {
                builds.incrementAndGet();
                return builtIn.build(variant, config, manager, seed);
            }
        };
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Backbone.FAMILY_PROPERTY, "mit-thirdparty");
        props.put(Backbone.VARIANTS_PROPERTY, builtIn.variants().toArray(new String[0]));
        props.put(Constants.SERVICE_RANKING, 100);
        ServiceRegistration<Backbone> reg = context.registerService(Backbone.class, wrapper, props);
        try {
            TrainingRun run = runner.start(RunRequest.of(tiny(dir.resolve("ranked"), 1), null));
            assertEquals(RunState.FINISHED, run.completion().toCompletableFuture().get(120, TimeUnit.SECONDS).state());
            assertEquals(2, builds.get(), "teacher and student came from the better ranked service");
        } finally {
            reg.unregister();
        }
    }

    @Test
    void aBetterRankedDistillerOfTheSameNameReplacesTheBuiltInOne(@TempDir Path dir) throws Exception {
        var ref = context.getServiceReferences(Distiller.class, "(retort.distiller=csf)").iterator().next();
        Distiller builtIn = context.getService(ref);
        AtomicInteger builds = new AtomicInteger();
        Distiller replacement = new Distiller() {  // a third party's csf that delegates and counts
            public String name() {
                return "csf";
            }

            public String description() {
                return "csf, replaced";
            }

            public DistillationModule build(DistillContext c) {
                builds.incrementAndGet();
                return builtIn.build(c);
            }
        };
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Distiller.NAME_PROPERTY, "csf");
        props.put(Constants.SERVICE_RANKING, 100);
        ServiceRegistration<Distiller> reg = context.registerService(Distiller.class, replacement, props);
        try {
            Map<String, Object> run = tiny(dir.resolve("ranked-csf"), 1);
            run.put("modules", "csf");
            TrainingRun t = runner.start(RunRequest.of(run, null));
            assertEquals(RunState.FINISHED, t.completion().toCompletableFuture().get(120, TimeUnit.SECONDS).state());
            assertTrue(builds.get() >= 1, "the run's csf came from the better ranked service");
        } finally {
            reg.unregister();
            context.ungetService(ref);
        }
    }

    @Test
    void anOverwritingStartWithAnUnknownBackboneIsRefusedBeforeItDeletesAnything(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("earlier");
        Files.createDirectories(out);
        Files.writeString(out.resolve("metrics.jsonl"), "{\"earlier\":true}\n");
        Map<String, Object> run = tiny(out, 1);
        run.put("student", "mit-b9");
        var refused = assertThrows(IllegalArgumentException.class,
                () -> runner.start(new RunRequest(run, null, true, null, null, 0)));
        assertTrue(refused.getMessage().startsWith("no backbone service builds 'mit-b9' (did you mean mit-b"), refused.getMessage());
        assertEquals("{\"earlier\":true}\n", Files.readString(out.resolve("metrics.jsonl")), "the earlier run's files are untouched");
    }

    @Test
    void stoppingThePvtv2BundleLeavesAMitRunAloneAndAPvtv2RunIsRefusedClearly(@TempDir Path dir) throws Exception {
        org.osgi.framework.Bundle pvt = java.util.Arrays.stream(context.getBundles())
                .filter(b -> "dev.retort.backbones-pvtv2".equals(b.getSymbolicName())).findFirst().orElseThrow();
        List<RunEvent> steps = new CopyOnWriteArrayList<>();
        CountDownLatch running = new CountDownLatch(1);
        TrainingRun run = runner.start(new RunRequest(tiny(dir.resolve("mit"), 12), null, false, null, e -> {
            if (e.type() == RunEvent.Type.STEP) {
                steps.add(e);
                running.countDown();
            }
        }, 0));
        assertTrue(running.await(120, TimeUnit.SECONDS), "the MiT run took a step");
        pvt.stop();
        try {
            RunResult result = run.completion().toCompletableFuture().get(180, TimeUnit.SECONDS);
            assertEquals(RunState.FINISHED, result.state(), String.valueOf(result.failure()));
            assertEquals(12, result.steps());
            assertTrue(result.totalLosses().stream().allMatch(Double::isFinite), "no step of the MiT run was disturbed: " + result.totalLosses());
            Map<String, Object> pvtRun = tiny(dir.resolve("pvt"), 1);
            pvtRun.put("student", "pvtv2-b0");
            pvtRun.keySet().removeIf(k -> k.startsWith("student."));
            var refused = assertThrows(IllegalArgumentException.class, () -> runner.start(RunRequest.of(pvtRun, null)));
            assertTrue(refused.getMessage().startsWith("no backbone service builds 'pvtv2-b0'"), refused.getMessage());
        } finally {
            pvt.start();
        }
    }
}
