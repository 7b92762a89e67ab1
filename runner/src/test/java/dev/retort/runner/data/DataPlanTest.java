package dev.retort.runner.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.retort.api.run.DataRef;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** One statement of how a run opens its splits: what the loop opens is what the teacher-cache key says. */
class DataPlanTest {
    private static DataPlan plan(Map<String, ?> options) {
        return new DataPlan(new DataRef("synthetic", Path.of("/data/x"), "train", "val", "transkd", options));
    }

    @Test
    void theTrainingSplitIsAugmentedByDefaultTheOthersNever() {
        DataPlan p = plan(Map.of("height", "32"));
        assertEquals(Map.of("height", "32", "augment", true), p.train().options());
        assertEquals("train", p.train().split());
        assertEquals(Map.of("height", "32", "augment", false), p.validation().options());
        assertEquals("val", p.validation().split());
        assertEquals(Map.of("height", "32", "augment", false), p.evaluation(Path.of("/data/x"), "test", true).options());
        assertEquals(Map.of("augment", false), p.evaluation(Path.of("/data/y"), "val", false).options());
        assertEquals("transkd", p.evaluation(null, "val", false).protocol());
    }

    @Test
    void theUsersAugmentKeyWinsForTheLoopButNotForACheckpointsEvaluation() {
        DataPlan p = plan(Map.of("augment", "false"));
        assertEquals("false", p.train().options().get("augment"));
        assertEquals(false, p.evaluation(null, "val", true).options().get("augment"));
    }

    @Test
    void theTeacherCacheKeyReadsTheOptionsTheLoopOpensTheTrainingSplitWith() {
        DataPlan p = plan(Map.of("width", 64, "height", "32"));
        assertEquals(Map.of("augment", "true", "height", "32", "width", "64"), p.trainOptionsText());
        assertEquals("{augment=true, height=32, width=64}", p.trainOptionsText().toString());
    }
}
