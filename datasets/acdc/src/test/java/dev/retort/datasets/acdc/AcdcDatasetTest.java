package dev.retort.datasets.acdc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.datasets.TinyData;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ACDC service. */
class AcdcDatasetTest {
    @TempDir
    Path root;

    @Test
    void acdcPoolsConditionsAndSelectsOne() throws Exception {
        for (String c : new String[] {"fog", "night"}) {
            for (int i = 0; i < 2; i++) {
                String stem = "GOPR0" + i + "_frame_00000" + i;
                TinyData.rgb(root.resolve("rgb_anon/" + c + "/train/GOPR0" + i + "/" + stem + "_rgb_anon.png"), 48, 32, i, "png");
                TinyData.grey(root.resolve("gt/" + c + "/train/GOPR0" + i + "/" + stem + "_gt_labelTrainIds.png"), 48, 32, (x, y) -> 10);
            }
        }
        AcdcDataset acdc = new AcdcDataset();
        try (SampleSource all = acdc.open(new DatasetRequest(root, "train", "transkd", Map.of("short_side", 32)))) {
            assertEquals(4, all.size());
            assertTrue(all.get(3, 0).id().startsWith("night/"));
        }
        try (SampleSource fog = acdc.open(new DatasetRequest(root, "train", "transkd", Map.of("condition", "fog", "short_side", 32)))) {
            assertEquals(2, fog.size());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> acdc.open(new DatasetRequest(root, "train", "transkd", Map.of("condition", "hail"))));
        assertTrue(e.getMessage().contains("hail"));
    }
}
