package dev.retort.datasets.cityscapes;

import static dev.retort.datasets.TinyData.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import dev.retort.datasets.TinyData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Cityscapes service, and through it the protocols and the bad-sample policy of the support library. */
class CityscapesDatasetTest {
    @TempDir
    Path root;

    @Test
    void cityscapesTranskdProtocolResizesAndQuartersTheLabel() throws Exception {
        TinyData.cityscapes(root);
        try (SampleSource train = new CityscapesDataset().open(new DatasetRequest(root, "train", "transkd", Map.of("short_side", 16)))) {
            assertEquals(2, train.size());
            assertEquals(20, train.info().outputs());
            assertEquals(19, train.info().ignoreClass());
            assertEquals(0f, train.info().classWeights()[19]);
            Sample s = train.get(0, 1);
            assertEquals(16, s.height());
            assertEquals(32, s.width());
            assertEquals(4, s.labelHeight());
            assertEquals(8, s.labelWidth());
            assertTrue(Arrays.stream(toDouble(s.image())).allMatch(v -> v >= 0 && v <= 1), "no normalisation: values in [0,1]");
            assertTrue(values(s.label()).stream().allMatch(v -> v >= 0 && v <= 19));
            assertArrayEquals(s.label(), train.get(0, 1).label(), "same index and seed, same sample");
        }
        try (SampleSource val = new CityscapesDataset().open(new DatasetRequest(root, "val", "transkd", Map.of("short_side", 32)))) {
            // labelIds 7 (road) and 26 (car) map to train ids 0 and 13
            assertEquals(Set.of(0, 13), values(val.get(0, 0).label()));
        }
    }

    @Test
    void standardProtocolCropsPadsWithIgnoreAndNormalises() throws Exception {
        TinyData.cityscapes(root);
        var options = Map.of("crop_height", 48, "crop_width", 48, "scale_min", 0.5, "scale_max", 0.5);
        try (SampleSource train = new CityscapesDataset().open(new DatasetRequest(root, "train", "standard", options))) {
            Sample s = train.get(1, 3);
            assertEquals(48, s.height());
            assertEquals(48, s.labelHeight());
            assertEquals(255, train.info().ignoreClass());
            assertEquals(19, train.info().outputs());
            assertTrue(values(s.label()).contains(255), "padding beyond the 16-pixel-high scaled image is ignore");
            assertTrue(Arrays.stream(toDouble(s.image())).anyMatch(v -> v < 0), "mean/std normalised");
        }
    }

    @Test
    void badInputIsNamedAndTheSkipPolicyCountsWhatItSkips() throws Exception {
        CityscapesDataset cs = new CityscapesDataset();
        var noRoot = assertThrows(IOException.class, () -> cs.open(new DatasetRequest(root.resolve("absent"), "train", "transkd", Map.of())));
        assertTrue(noRoot.getMessage().contains("absent"), noRoot.getMessage());
        TinyData.cityscapes(root);
        var split = assertThrows(IOException.class, () -> cs.open(new DatasetRequest(root, "test", "transkd", Map.of())));
        assertTrue(split.getMessage().contains("test"), split.getMessage());

        // an image without a label
        TinyData.rgb(root.resolve("leftImg8bit/train/bonn/bonn_000000_000019_leftImg8bit.png"), 64, 32, 5, "png");
        var orphan = assertThrows(IOException.class, () -> cs.open(new DatasetRequest(root, "train", "transkd", Map.of())));
        assertTrue(orphan.getMessage().contains("bonn_000000_000019_leftImg8bit.png") && orphan.getMessage().contains("no label"), orphan.getMessage());
        // now corrupt, out-of-range and mis-sized samples
        Files.writeString(root.resolve("leftImg8bit/train/bonn/bonn_000000_000019_leftImg8bit.png"), "not a png");
        TinyData.grey(root.resolve("gtFine/train/bonn/bonn_000000_000019_gtFine_labelTrainIds.png"), 64, 32, (x, y) -> 3);
        TinyData.grey(root.resolve("gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png"), 64, 32, (x, y) -> 42);
        TinyData.grey(root.resolve("gtFine/train/aachen/aachen_000001_000019_gtFine_labelTrainIds.png"), 32, 32, (x, y) -> 1);
        try (SampleSource strict = cs.open(new DatasetRequest(root, "train", "transkd", Map.of()))) {
            var range = assertThrows(IOException.class, () -> strict.get(0, 0));
            assertTrue(range.getMessage().contains("aachen_000000") && range.getMessage().contains("label value 42"), range.getMessage());
            var size = assertThrows(IOException.class, () -> strict.get(1, 0));
            assertTrue(size.getMessage().contains("32x32") && size.getMessage().contains("64x32"), size.getMessage());
            var corrupt = assertThrows(IOException.class, () -> strict.get(2, 0));
            assertTrue(corrupt.getMessage().contains("bonn_000000_000019_leftImg8bit.png"), corrupt.getMessage());
        }
        // make one sample good again; skipping policy lands on it and counts the rest
        TinyData.grey(root.resolve("gtFine/train/aachen/aachen_000001_000019_gtFine_labelTrainIds.png"), 64, 32, (x, y) -> 1);
        try (SampleSource lenient = cs.open(new DatasetRequest(root, "train", "transkd", Map.of("on_error", "skip", "short_side", 16, "augment", false)))) {
            Sample s = lenient.get(0, 0);
            assertEquals(Set.of(1), values(s.label()));
            assertEquals(1, lenient.skipped());
        }
    }

    /** A small file claiming a huge image is refused from its header, before decoding, naming the file; under skip it is left out. */
    @Test
    void aDecompressionBombIsRefusedFromItsHeaderBeforeDecoding() throws Exception {
        TinyData.cityscapes(root);
        Path bomb = root.resolve("leftImg8bit/train/bonn/bonn_000000_000019_leftImg8bit.png");
        TinyData.bomb(bomb, 25_000, 25_000);
        TinyData.grey(root.resolve("gtFine/train/bonn/bonn_000000_000019_gtFine_labelTrainIds.png"), 64, 32, (x, y) -> 3);
        assertTrue(Files.size(bomb) < 1_000_000, Files.size(bomb) + " bytes");
        CityscapesDataset cs = new CityscapesDataset();
        long t0 = System.nanoTime();
        try (SampleSource strict = cs.open(new DatasetRequest(root, "train", "transkd", Map.of("augment", false)))) {
            int bonn = -1;
            for (int i = 0; i < strict.size() && bonn < 0; i++) {
                try {
                    strict.get(i, 0);
                } catch (IOException e) {
                    bonn = i;
                    assertTrue(e.getMessage().contains(bomb.toString()) && e.getMessage().contains("25000 × 25000 = 625,000,000 pixels")
                            && e.getMessage().contains("89,478,485"), e.getMessage());
                }
            }
            assertTrue(bonn >= 0, "the bomb was refused");
        }
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "refused from the header, not after decoding");
        try (SampleSource lenient = cs.open(new DatasetRequest(root, "train", "transkd", Map.of("on_error", "skip", "short_side", 16, "augment", false)))) {
            for (int i = 0; i < lenient.size(); i++) assertTrue(lenient.get(i, 0).id().startsWith("aachen"));
            assertEquals(1, lenient.skipped());
        }
    }

    /** An image without its label is a bad sample like any other: an error naming it, or under on_error = skip left out and counted. */
    @Test
    void anImageWithoutALabelIsSkippedAndCountedUnderTheSkipPolicy() throws Exception {
        TinyData.cityscapes(root);
        TinyData.rgb(root.resolve("leftImg8bit/train/bonn/bonn_000000_000019_leftImg8bit.png"), 64, 32, 5, "png");  // no label
        CityscapesDataset cs = new CityscapesDataset();
        var strict = assertThrows(IOException.class, () -> cs.open(new DatasetRequest(root, "train", "transkd", Map.of())));
        assertTrue(strict.getMessage().contains("bonn_000000_000019_leftImg8bit.png") && strict.getMessage().contains("no label")
                && strict.getMessage().contains("on_error = skip"), strict.getMessage());
        try (SampleSource s = cs.open(new DatasetRequest(root, "train", "transkd", Map.of("on_error", "skip", "short_side", 16, "augment", false)))) {
            assertEquals(2, s.size(), "the unlabelled image is left out");
            assertEquals(1, s.skipped(), "and counted");
            for (int i = 0; i < s.size(); i++) assertTrue(s.get(i, 0).id().startsWith("aachen"), s.get(i, 0).id());
            assertEquals(1, s.skipped(), "the good samples add nothing");
        }
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
