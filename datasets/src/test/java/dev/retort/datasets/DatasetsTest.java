package dev.retort.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path root;

    private static Set<Integer> values(int[] a) {
        Set<Integer> s = new TreeSet<>();
        for (int v : a) s.add(v);
        return s;
    }

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

    @Test
    void badInputIsNamedAndTheSkipPolicyCountsWhatItSkips() throws Exception {
        CityscapesDataset cs = new CityscapesDataset();
        var noRoot = assertThrows(IOException.class, () -> cs.open(new DatasetRequest(root.resolve("absent"), "train", "transkd", Map.of())));
        assertTrue(noRoot.getMessage().contains("absent"), noRoot.getMessage());
        TinyData.cityscapes(root);
        var split = assertThrows(IOException.class, () -> cs.open(new DatasetRequest(root, "test", "transkd", Map.of())));
        assertTrue(split.getMessage().contains("test"), split.getMessage());
        var list = assertThrows(IOException.class, () -> new VocDataset().open(new DatasetRequest(root, "val", "transkd", Map.of())));
        assertTrue(list.getMessage().contains("val.txt"), list.getMessage());

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

        // a list-based layout: one listed id without its label, one without its image
        Path voc = root.resolve("voc");
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

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
