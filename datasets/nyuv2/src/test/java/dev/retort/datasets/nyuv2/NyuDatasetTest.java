package dev.retort.datasets.nyuv2;

import static dev.retort.datasets.TinyData.values;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.datasets.TinyData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NYUv2 service. */
class NyuDatasetTest {
    @TempDir
    Path root;

    @Test
    void nyuShiftsLabelsDownAndIgnoresZero() throws Exception {
        Files.createDirectories(root);
        Files.writeString(root.resolve("train.txt"), "0001\n");
        TinyData.rgb(root.resolve("images/0001.png"), 32, 24, 2, "png");
        TinyData.grey(root.resolve("labels40/0001.png"), 32, 24, (x, y) -> x < 8 ? 0 : x < 16 ? 1 : 40);
        try (SampleSource s = new NyuDataset().open(new DatasetRequest(root, "train", "standard", Map.of("augment", false)))) {
            assertEquals(Set.of(0, 39, 255), values(s.get(0, 0).label()));
            assertEquals(40, s.info().classes().size());
        }
    }
}
