package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectService;

/**
 * TaT, CSKD and MasKD as bundles of a running run: stopping and starting each changes the module set at a step
 * boundary; MasKD joining mid-run learns its tokens first (kd:status shows it preparing, no step runs meanwhile) and
 * distils after; a run resumed after that does not prepare again.
 */
class NewMethodBundlesTest extends FrameworkTest {
    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    @Test
    void tatCskdAndMasKdJoinAndLeaveARunningRunAndMasKdPreparesOnlyOnce(@TempDir Path dir) throws Exception {
        List<RunEvent> events = new CopyOnWriteArrayList<>();
        var listener = context.registerService(RunListener.class, events::add, null);
        Path run = dir.resolve("tiny.cfg");
        // Registry-following (no modules key), so bundles coming and going change the set.
        Files.writeString(run, tinyRun("name = newkd", "output = " + dir.resolve("out").toString().replace('\\', '/'), "seed = 5",
                "iterations = 2000", "eval_every = 100000"));
        // MasKD is not registered when the run starts, so its preparation budget comes through ConfigAdmin.
        Configuration maskdConfig = configAdmin.getConfiguration("dev.retort.distill.maskd", "?");
        maskdConfig.update(new Hashtable<>(Map.of("prepareSteps", 40)));
        Bundle tat = bundle("dev.retort.distill-tat");
        Bundle cskd = bundle("dev.retort.distill-cskd");
        Bundle maskd = bundle("dev.retort.distill-maskd");
        maskd.stop();
        try {
            String started = kd("kd:train " + run.toString().replace('\\', '/'));
            assertTrue(started.contains("started run newkd"), started);
            long first = awaitTerms(events, 0, t -> has(t, "tat") && has(t, "cskd") && !has(t, "maskd"));

            tat.stop();
            long tatGone = awaitTerms(events, first, t -> !has(t, "tat") && has(t, "cskd"));
            cskd.stop();
            long cskdGone = awaitTerms(events, tatGone, t -> !has(t, "cskd") && !has(t, "tat") && has(t, "csf"));
            tat.start();
            cskd.start();
            long back = awaitTerms(events, cskdGone, t -> has(t, "tat") && has(t, "cskd"));

            int before = events.size();
            maskd.start();
            RunEvent preparing = awaitEvent(events, before, e -> e.type() == RunEvent.Type.PREPARING && e.message().contains("maskd"));
            assertTrue(preparing.step() >= back, preparing.toString());
            String status = Gogo.await(shell, "kd:status", s -> s.contains("preparing maskd")
                    || events.stream().anyMatch(e -> e.type() == RunEvent.Type.PREPARED));
            RunEvent prepared = awaitEvent(events, before, e -> e.type() == RunEvent.Type.PREPARED);
            assertEquals(40.0, prepared.metrics().get("steps"), prepared.toString());
            assertTrue(status.contains("preparing maskd") || prepared.metrics().get("seconds") < 0.2,
                    "kd:status shows the preparation while it runs: " + status);
            int preparingAt = events.indexOf(preparing);
            int preparedAt = events.indexOf(prepared);
            assertTrue(events.subList(preparingAt, preparedAt).stream().noneMatch(e -> e.type() == RunEvent.Type.STEP),
                    "no training step runs while MasKD prepares");
            assertTrue(events.subList(0, preparedAt).stream().noneMatch(e -> e.type() == RunEvent.Type.STEP && has(e.metrics().keySet(), "maskd")),
                    "MasKD distils only after it is prepared");
            long joined = awaitTerms(events, prepared.step(), t -> has(t, "maskd") && has(t, "tat") && has(t, "cskd"));
            awaitStep(events, joined + 1);

            kd("kd:stop");
            awaitEvent(events, 0, e -> e.type() == RunEvent.Type.FINISHED);
            long stoppedAt = events.stream().filter(e -> e.type() == RunEvent.Type.STEP).mapToLong(RunEvent::step).max().orElseThrow();
            Path last = dir.resolve("out/last.safetensors");
            assertTrue(Files.exists(last));

            int resumedFrom = events.size();
            String resumed = kd("kd:train --resume " + last.toString().replace('\\', '/') + " " + run.toString().replace('\\', '/'));
            assertTrue(resumed.contains("started run newkd"), resumed);
            long afterResume = awaitEvent(events, resumedFrom, e -> e.type() == RunEvent.Type.STEP && e.step() > stoppedAt && has(e.metrics().keySet(), "maskd")).step();
            awaitEvent(events, resumedFrom, e -> e.type() == RunEvent.Type.STEP && e.step() >= afterResume + 2);
            List<RunEvent> all = List.copyOf(events);
            List<RunEvent> resumedEvents = all.subList(resumedFrom, all.size());
            assertFalse(resumedEvents.stream().anyMatch(e -> e.type() == RunEvent.Type.PREPARING),
                    "a run resumed after MasKD's preparation does not prepare again: " + resumedEvents);
            kd("kd:stop");
            awaitEvent(events, resumedFrom, e -> e.type() == RunEvent.Type.FINISHED);
        } finally {
            for (Bundle b : List.of(tat, cskd, maskd)) if (b.getState() != Bundle.ACTIVE) b.start();
            maskdConfig.delete();
            listener.unregister();
        }
    }

    /** Whether a step's metrics hold a loss term of the module. */
    private static boolean has(Set<String> metrics, String module) {
        return metrics.stream().anyMatch(k -> k.startsWith(module + "."));
    }
}
