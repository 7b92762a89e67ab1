package dev.retort.runner.eval;

import dev.retort.api.data.MiouConvention;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ConfusionMatrixTest {
    /**
     * 3 classes, ignore = 3. truth [0,0,1,1,3], prediction [0,1,1,3,0]: the ignored pixel is skipped; class 0
     * TP 1 FN 1 → 1/2; class 1 TP 1, FP 1 (a 0 predicted as 1), FN 1 (predicted as the ignore class) → 1/3; class 2
     * absent from both → 0.
     */
    @Test
    void handComputedCase() {
        ConfusionMatrix m = new ConfusionMatrix(3, 3);
        m.add(new int[] {0, 1, 1, 3, 0}, new int[] {0, 0, 1, 1, 3});
        assertArrayEquals(new double[] {0.5, 1.0 / 3, 0}, m.iou(), 1e-12);
        assertEquals((0.5 + 1.0 / 3) / 3, m.meanIou(MiouConvention.ALL_CLASSES), 1e-12);
        assertEquals((0.5 + 1.0 / 3) / 2, m.meanIou(MiouConvention.PRESENT_CLASSES), 1e-12);
        assertEquals(0.5, m.pixelAccuracy(), 1e-12);
        assertEquals(4, m.pixels());
        String table = m.table(List.of("road", "car", "bus"), MiouConvention.ALL_CLASSES);
        assertTrue(table.contains("bus") && table.contains("(absent)") && table.contains("27.78"), table);
    }

    @Test
    void matricesAddUpAndBadLabelsAreRejected() {
        ConfusionMatrix a = new ConfusionMatrix(2, 255), b = new ConfusionMatrix(2, 255);
        a.add(new int[] {0, 1}, new int[] {0, 1});
        b.add(new int[] {1, 1}, new int[] {0, 255});
        a.add(b);
        assertEquals(3, a.pixels());
        assertArrayEquals(new double[] {0.5, 0.5}, a.iou(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> a.add(new int[] {0}, new int[] {7}));
    }
}
