package dev.retort.datasets.synthetic;

import static dev.retort.datasets.TinyData.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    @Test
    void labelledSizeLeavesTheLaterTrainingScenesWithoutLabelsAndTheirImagesAsTheyWere() throws Exception {
        SyntheticCityDataset synth = new SyntheticCityDataset();
        Map<String, Object> all = Map.of("height", 32, "width", 64, "train_size", 10, "val_size", 4);
        Map<String, Object> few = Map.of("height", 32, "width", 64, "train_size", 10, "val_size", 4, "labelled_size", 3);
        try (SampleSource full = synth.open(new DatasetRequest(null, "train", "transkd", all));
             SampleSource part = synth.open(new DatasetRequest(null, "train", "transkd", few));
             SampleSource val = synth.open(new DatasetRequest(null, "val", "transkd", few))) {
            for (int i = 0; i < 10; i++) {
                Sample a = full.get(i, 5), b = part.get(i, 5);
                assertArrayEquals(a.image(), b.image(), "scene " + i + ": the same image");
                if (i < 3) {
                    assertArrayEquals(a.label(), b.label(), "scene " + i + " keeps its labels");
                } else {
                    assertEquals(Set.of(19), values(b.label()), "scene " + i + ": every pixel is the ignore class (19 under transkd)");
                    assertTrue(values(a.label()).size() > 3, "scene " + i + " had labels before");
                }
            }
            for (int i = 0; i < 4; i++) assertTrue(values(val.get(i, 0).label()).size() > 3, "validation scenes keep their labels");
        }
        for (int bad : new int[] {11, -1}) {
            Map<String, Object> o = Map.of("train_size", 10, "labelled_size", bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> synth.open(new DatasetRequest(null, "train", "transkd", o)));
            assertTrue(e.getMessage().contains("labelled_size must be between 0 and train_size (10), got " + bad), e.getMessage());
        }
    }
}
