package dev.retort.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.RunEvent;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RunLogTest {
    private static RunEvent event(String run, RunEvent.Type type, long step, Map<String, Double> metrics) {
        return new RunEvent(run, type, step, 1, Instant.EPOCH, metrics, "");
    }

    @Test
    void eventsAreNumberedAndANewRunStartsANewLogWithoutReusingNumbers() {
        RunLog log = new RunLog();
        log.onEvent(event("a", RunEvent.Type.STARTED, 0, Map.of()));
        log.onEvent(event("a", RunEvent.Type.STEP, 1, Map.of("ce", 2.0)));
        log.onEvent(event("a", RunEvent.Type.STEP, 2, Map.of("ce", 1.5)));
        assertEquals(List.of(2L, 3L), log.after(1).stream().map(RunLog.Entry::seq).toList());
        assertEquals(List.of(3L), log.sinceStep(1).stream().map(RunLog.Entry::seq).toList());
        log.onEvent(event("b", RunEvent.Type.STARTED, 0, Map.of()));
        assertEquals("b", log.runId());
        assertEquals(List.of(4L), log.after(0).stream().map(RunLog.Entry::seq).toList());
        assertEquals(List.of(), log.after(4));
    }

    @Test
    void moduleParametersComeFromModuleChanges() {
        RunLog log = new RunLog();
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("module_params", 843_840.0);
        m.put("params.csf", 650_304.0);
        m.put("params.pea", 193_536.0);
        log.onEvent(event("a", RunEvent.Type.MODULES_CHANGED, 0, m));
        log.onEvent(event("a", RunEvent.Type.MODULES_CHANGED, 5, Map.of("module_params", 650_304.0, "params.csf", 650_304.0)));
        // a module that left keeps its last known count (the page shows it beside its enable button)
        assertEquals(Map.of("csf", 650_304L, "pea", 193_536L), log.moduleParams());
    }

    @Test
    void awaitReturnsTheEventsThatArriveAndNothingOnTimeOut() throws Exception {
        RunLog log = new RunLog();
        assertEquals(List.of(), log.await(0, 50));
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            log.onEvent(event("a", RunEvent.Type.STEP, 1, Map.of("ce", 2.0)));
        });
        t.start();
        long start = System.nanoTime();
        List<RunLog.Entry> got = log.await(0, 10_000);
        assertEquals(1, got.size());
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "woken by the event, not by the time-out");
        t.join();
    }

    @Test
    void theOldestEventsGoWhenTheLogIsFull() {
        RunLog log = new RunLog();
        for (int i = 1; i <= RunLog.CAPACITY + 1; i++) log.onEvent(event("a", RunEvent.Type.STEP, i, Map.of()));
        List<RunLog.Entry> all = log.after(0);
        // at capacity a tenth goes (20,000), then the new one joins: 180,001 left, from number 20,001
        assertEquals(180_001, all.size());
        assertEquals(20_001L, all.get(0).seq());
        assertEquals(200_001L, all.get(all.size() - 1).seq());
    }
}
