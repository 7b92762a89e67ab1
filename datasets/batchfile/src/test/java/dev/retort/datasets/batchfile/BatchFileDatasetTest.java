package dev.retort.datasets.batchfile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsWriter;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchFileDatasetTest {
    @TempDir
    Path dir;

    /** Batch t holds B images whose every value is t·10 + i, labels (t + i) mod 20, at 1/4 size. */
    private static SafeTensorsWriter batches(int count, int b, int h, int w) {
        SafeTensorsWriter out = new SafeTensorsWriter();
        for (int t = 0; t < count; t++) {
            float[] images = new float[b * 3 * h * w];
            long[] labels = new long[b * (h / 4) * (w / 4)];
            for (int i = 0; i < b; i++) {
                java.util.Arrays.fill(images, i * 3 * h * w, (i + 1) * 3 * h * w, t * 10 + i);
                java.util.Arrays.fill(labels, i * (h / 4) * (w / 4), (i + 1) * (h / 4) * (w / 4), (t + i) % 20);
            }
            out.add("images." + t, new long[] {b, 3, h, w}, images, DType.F32);
            out.add("labels." + t, new long[] {b, h / 4, w / 4}, labels, DType.I64);
        }
        return out;
    }

    private SampleSource open(Path file, String protocol, Map<String, ?> options) throws Exception {
        return new BatchFileDataset().open(new DatasetRequest(file, "train", protocol, options));
    }

    private String refused(SafeTensorsWriter w) throws Exception {
        Path file = dir.resolve("bad.safetensors");
        w.write(file);
        return assertThrows(IllegalArgumentException.class, () -> open(file, "transkd", Map.of())).getMessage();
    }

    @Test
    void samplesComeInTheFilesOrderAsStoredWithTheCityscapesLabelSpace() throws Exception {
        Path file = dir.resolve("b.safetensors");
        batches(3, 2, 8, 12).write(file);
        try (SampleSource s = open(file, "transkd", Map.of("augment", true))) {
            assertTrue(s.fixedOrder());
            assertEquals(6, s.size());
            for (int t = 0; t < 3; t++) {
                for (int i = 0; i < 2; i++) {
                    Sample x = s.get(2 * t + i, 12345);
                    assertEquals(8, x.height());
                    assertEquals(12, x.width());
                    assertEquals(2, x.labelHeight());
                    assertEquals(3, x.labelWidth());
                    assertEquals(t * 10 + i, x.image()[0]);  // no normalisation, no flip, whatever the seed
                    assertEquals(t * 10 + i, x.image()[x.image().length - 1]);
                    assertEquals((t + i) % 20, x.label()[0]);
                }
            }
            assertEquals(20, s.info().outputs());
            assertEquals(19, s.info().ignoreClass());
            assertEquals(0f, s.info().classWeights()[19]);
        }
    }

    @Test
    void classWeightsComeFromTheRunWhenGiven() throws Exception {
        Path file = dir.resolve("b.safetensors");
        batches(1, 1, 8, 8).write(file);
        String weights = "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,0";
        try (SampleSource s = open(file, "transkd", Map.of("class_weights", weights))) {
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0}, s.info().classWeights());
        }
        String wrong = assertThrows(IllegalArgumentException.class, () -> open(file, "transkd", Map.of("class_weights", "1,2,3"))).getMessage();
        assertTrue(wrong.contains("class_weights needs 20 values"), wrong);
        String unknown = assertThrows(IllegalArgumentException.class, () -> open(file, "transkd", Map.of("class_weight", "1"))).getMessage();
        assertTrue(unknown.contains("class_weight"), unknown);
    }

    @Test
    void everyBadEntryIsNamed() throws Exception {
        SafeTensorsWriter w = batches(3, 2, 8, 8);
        w.add("labels.1", new long[] {2, 2, 2}, new long[] {0, 1, 2, 3, 4, 5, 6, 40}, DType.I64);           // a value outside the label space
        w.add("images.2", new long[] {2, 3, 8, 8}, nan(2 * 3 * 8 * 8), DType.F32);                          // NaN
        w.add("images.4", new long[] {2, 3, 8, 8}, new float[2 * 3 * 8 * 8], DType.F32);                    // no labels.4, no batch 3
        w.add("extra", new long[] {1}, new float[] {1}, DType.F32);
        String m = refused(w);
        assertTrue(m.contains("labels.1: 1 values outside 0..18 and the ignore value 19 (e.g. 40)"), m);
        assertTrue(m.contains("images.2: 1 NaN or infinite values"), m);
        assertTrue(m.contains("images.3: missing"), m);
        assertTrue(m.contains("labels.4: missing"), m);
        assertTrue(m.contains("extra: not images.<t> or labels.<t>"), m);
    }

    @Test
    void shapesAndTypesAreChecked() throws Exception {
        SafeTensorsWriter w = batches(3, 2, 8, 8);
        w.add("images.1", new long[] {2, 1, 8, 8}, new float[2 * 8 * 8], DType.F32);
        w.add("labels.2", new long[] {3, 2, 2}, new long[12], DType.I64);
        String m = refused(w);
        assertTrue(m.contains("images.1: shape [2, 1, 8, 8], expected [B, 3, H, W]"), m);
        assertTrue(m.contains("labels.2: 3 labels for 2 images in images.2"), m);
        SafeTensorsWriter floats = batches(1, 1, 8, 8);
        floats.add("labels.0", new long[] {1, 2, 2}, new float[4], DType.F32);
        assertTrue(refused(floats).contains("labels.0: F32, labels must be integers"));
        SafeTensorsWriter sizes = batches(2, 1, 8, 8);
        sizes.add("images.1", new long[] {1, 3, 8, 12}, new float[3 * 8 * 12], DType.F32);
        sizes.add("labels.1", new long[] {1, 2, 3}, new long[6], DType.I64);
        assertTrue(refused(sizes).contains("differ from batch 0's"));
    }

    @Test
    void theStandardProtocolTakesIgnore255() throws Exception {
        Path file = dir.resolve("s.safetensors");
        SafeTensorsWriter w = batches(1, 1, 8, 8);
        w.add("labels.0", new long[] {1, 2, 2}, new long[] {0, 255, 18, 255}, DType.I64);
        w.write(file);
        try (SampleSource s = open(file, "standard", Map.of())) {
            assertEquals(255, s.get(0, 0).label()[1]);
            assertEquals(19, s.info().outputs());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> open(file, "transkd", Map.of())).getMessage().contains("e.g. 255"));
    }

    @Test
    void aMissingFileOrRootIsAClearError() {
        assertThrows(java.io.IOException.class, () -> open(dir.resolve("none.safetensors"), "transkd", Map.of()));
        String m = assertThrows(IllegalArgumentException.class, () -> new BatchFileDataset().open(new DatasetRequest(null, "train", "transkd", Map.of())))
                .getMessage();
        assertTrue(m.contains("data.root"), m);
    }

    private static float[] nan(int n) {
        float[] v = new float[n];
        v[5] = Float.NaN;
        return v;
    }
}
