package dev.retort.datasets.voc2012;

import static dev.retort.datasets.TinyData.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.datasets.TinyData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Pascal VOC 2012 service. */
class VocDatasetTest {
    @TempDir
    Path root;

    @Test
    void vocReadsPaletteIndicesNotColoursAndTrainaugUsesTheAugmentedLabels() throws Exception {
        Files.createDirectories(root.resolve("ImageSets/Segmentation"));
        Files.writeString(root.resolve("ImageSets/Segmentation/train.txt"), "2007_000032\n");
        Files.writeString(root.resolve("ImageSets/Segmentation/trainaug.txt"), "2007_000032\n");
        TinyData.rgb(root.resolve("JPEGImages/2007_000032.jpg"), 40, 30, 1, "jpg");
        TinyData.palette(root.resolve("SegmentationClass/2007_000032.png"), 40, 30, (x, y) -> x < 20 ? 15 : 255);
        TinyData.palette(root.resolve("SegmentationClassAug/2007_000032.png"), 40, 30, (x, y) -> 7);
        VocDataset voc = new VocDataset();
        try (SampleSource s = voc.open(new DatasetRequest(root, "train", "standard", Map.of("augment", false)))) {
            assertEquals(Set.of(15, 255), values(s.get(0, 0).label()));
            assertEquals(21, s.info().outputs());
        }
        try (SampleSource s = voc.open(new DatasetRequest(root, "trainaug", "standard", Map.of("augment", false)))) {
            assertEquals(Set.of(7), values(s.get(0, 0).label()));
        }
        assertEquals(0x800000, voc.palette()[1]);  // aeroplane is (128, 0, 0)
    }

    @Test
    void aMissingSplitListIsNamed() {
        var list = assertThrows(IOException.class, () -> new VocDataset().open(new DatasetRequest(root, "val", "transkd", Map.of())));
        assertTrue(list.getMessage().contains("val.txt"), list.getMessage());
    }

    /** A listed id without its label, one without its image: errors naming them, or under on_error = skip left out and counted. */
    @Test
    void listedSamplesWithoutLabelOrImageAreSkippedAndCountedUnderTheSkipPolicy() throws Exception {
        Path voc = root;
        Files.createDirectories(voc.resolve("ImageSets/Segmentation"));
        Files.writeString(voc.resolve("ImageSets/Segmentation/train.txt"), "a\nb\nc\n");
        TinyData.rgb(voc.resolve("JPEGImages/a.jpg"), 40, 30, 1, "jpg");
        TinyData.palette(voc.resolve("SegmentationClass/a.png"), 40, 30, (x, y) -> 3);
        TinyData.rgb(voc.resolve("JPEGImages/b.jpg"), 40, 30, 2, "jpg");
        TinyData.palette(voc.resolve("SegmentationClass/c.png"), 40, 30, (x, y) -> 3);
        var vocStrict = assertThrows(IOException.class, () -> new VocDataset().open(new DatasetRequest(voc, "train", "standard", Map.of())));
        assertTrue(vocStrict.getMessage().contains("b.jpg: no label") && vocStrict.getMessage().contains("1 more"), vocStrict.getMessage());
        try (SampleSource s = new VocDataset().open(new DatasetRequest(voc, "train", "standard", Map.of("on_error", "skip", "augment", false)))) {
            assertEquals(1, s.size());
            assertEquals(2, s.skipped());
            assertEquals(Set.of(3), values(s.get(0, 0).label()));
        }
    }
}
