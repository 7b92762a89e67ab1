package dev.retort.datasets.synthetic;

import static dev.retort.datasets.TinyData.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The synthetic city service. */
class SyntheticCityDatasetTest {
    @Test
    void syntheticCityIsDeterministicVariedAndCoversTheClasses() throws Exception {
        SyntheticCityDataset synth = new SyntheticCityDataset();
        Map<String, Object> opts = Map.of("height", 128, "width", 256);
        try (SampleSource train = synth.open(new DatasetRequest(null, "train", "transkd", opts));
             SampleSource val = synth.open(new DatasetRequest(null, "val", "transkd", opts))) {
            assertEquals(2000, train.size());
            assertEquals(200, val.size());
            Sample a = train.get(5, 11), b = train.get(5, 11), c = train.get(6, 11);
            assertArrayEquals(a.image(), b.image());
            assertFalse(Arrays.equals(a.image(), c.image()));
            assertFalse(Arrays.equals(train.get(5, 0).label(), val.get(5, 0).label()), "val scenes are other seeds");
            assertEquals(32, a.labelHeight());
            assertEquals(64, a.labelWidth());
            Set<Integer> seen = new TreeSet<>();
            for (int i = 0; i < 60; i++) seen.addAll(values(val.get(i, 0).label()));
            assertTrue(seen.size() >= 19, "classes seen in 60 scenes: " + seen);  // 19 classes and possibly ignore (19)
        }
    }
}
