package dev.retort.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.GraphicsEnvironment;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The charts are drawn without a display and read back as images. */
class PlotsTest {
    @Test
    void curvesAndBarsAreWrittenHeadless(@TempDir Path dir) throws Exception {
        Map<String, List<Double>> ce = new LinkedHashMap<>();
        ce.put("student", List.of(3.0, 2.5, 2.0, Double.NaN, 1.5, 1.2));
        ce.put("student + TransKD-Base", List.of(3.0, 2.2, 1.8, 1.5, 1.3, 1.0));
        Plots.curves(dir.resolve("loss.png"), "task loss", "cross-entropy", ce, 2);
        Plots.bars(dir.resolve("miou.png"), "mIoU", "mIoU %", List.of("teacher", "student", "student + TransKD-Base"), List.of(30.0, 12.5, 15.0),
                List.of(0.0, 1.2, 0.8));
        assertTrue(GraphicsEnvironment.isHeadless(), "the plots set java.awt.headless");
        for (String f : List.of("loss.png", "miou.png")) {
            BufferedImage img = ImageIO.read(dir.resolve(f).toFile());
            assertEquals(900, img.getWidth(), f);
            assertEquals(520, img.getHeight(), f);
        }
    }

    @Test
    void noCurvesLeaveNoChartBehind(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("distill.png"), "an earlier run's chart");
        Plots.curves(f, "distillation", "loss term", Map.of("student", List.of()), 20);
        assertFalse(Files.exists(f));
    }

    @Test
    void theMovingAverageSkipsNonFiniteSteps() {
        // window 2: [1], [1,3] -> 2, [3,NaN] -> 3, [NaN,5] -> 5
        double[] avg = Plots.movingAverage(Arrays.asList(1.0, 3.0, Double.NaN, 5.0), 2);
        assertArrayEquals(new double[] {1, 2, 3, 5}, avg, 1e-12);
    }

    @Test
    void theMeanCurveOfSeedsIsTakenStepByStep() {
        // step 0: {1, 3} -> mean 2, std sqrt(2); step 1: {2, 4} -> 3, sqrt(2); step 2 only one curve has it: left out
        List<double[]> curve = SeedStatistics.meanCurve(List.of(List.of(1.0, 2.0, 9.0), List.of(3.0, 4.0)));
        assertEquals(2, curve.size());
        assertArrayEquals(new double[] {2, Math.sqrt(2)}, curve.get(0), 1e-12);
        assertArrayEquals(new double[] {3, Math.sqrt(2)}, curve.get(1), 1e-12);
    }
}
