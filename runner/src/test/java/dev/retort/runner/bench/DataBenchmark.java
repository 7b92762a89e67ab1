package dev.retort.runner.bench;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.datasets.cityscapes.CityscapesDataset;
import dev.retort.datasets.synthetic.SyntheticCityDataset;
import dev.retort.datasets.BatchLoader;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Benchmark harness (not a test): images per second through the {@link BatchLoader} for Cityscapes-sized PNGs
 * (2048×1024, TransKD protocol: decode, resize to 512×1024, flip, shift) and for the synthetic city generated at
 * 512×1024, with 1 worker thread and with one per core, batch 2, prefetch 4.
 *
 * <pre>mvn -q install -DskipTests &amp;&amp; mvn -q -pl runner test-compile exec:java@bench-data</pre>
 */
public final class DataBenchmark {
    public static void main(String[] args) throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        Path root = Files.createTempDirectory("retort-cityscapes-bench");
        int images = 16;
        writeCityscapesSized(root, images);
        System.out.printf("%d cores; %d Cityscapes-sized PNGs (2048x1024) in %s%n", cores, images, root);
        System.out.printf("%-34s %8s %10s%n", "source", "threads", "images/s");
        for (int threads : new int[] {1, cores}) {
            try (SampleSource s = new CityscapesDataset().open(new DatasetRequest(root, "train", "transkd", Map.of()))) {
                System.out.printf("%-34s %8d %10.1f%n", "cityscapes png -> 512x1024", threads, rate(s, threads, 2));
            }
            try (SampleSource s = new SyntheticCityDataset().open(new DatasetRequest(null, "train", "transkd",
                    Map.of("height", 512, "width", 1024, "train_size", 32)))) {
                System.out.printf("%-34s %8d %10.1f%n", "synthetic 512x1024", threads, rate(s, threads, 2));
            }
        }
    }

    private static double rate(SampleSource source, int threads, int epochs) throws Exception {
        try (BatchLoader loader = new BatchLoader(source, 2, false, threads, 4)) {
            try (BatchLoader.Epoch warm = loader.epoch(0, 0, true, 0)) {
                warm.next();
            }
            long start = System.nanoTime();
            int n = 0;
            for (int e = 1; e <= epochs; e++) {
                try (BatchLoader.Epoch epoch = loader.epoch(0, e, true, 0)) {
                    while (epoch.hasNext()) n += epoch.next().size();
                }
            }
            return n / ((System.nanoTime() - start) / 1e9);
        }
    }

    /** Synthetic scenes written as Cityscapes files at full resolution. */
    private static void writeCityscapesSized(Path root, int count) throws Exception {
        try (SampleSource s = new SyntheticCityDataset().open(new DatasetRequest(null, "train", "standard",
                Map.of("height", 1024, "width", 2048, "augment", false)))) {
            for (int i = 0; i < count; i++) {
                var sample = s.get(i, 0);
                int w = sample.width(), h = sample.height(), plane = w * h;
                BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
                BufferedImage lbl = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
                float[] mean = {0.485f, 0.456f, 0.406f}, std = {0.229f, 0.224f, 0.225f};
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int p = y * w + x, rgb = 0;
                        for (int c = 0; c < 3; c++) rgb = rgb << 8 | Math.max(0, Math.min(255, Math.round((sample.image()[c * plane + p] * std[c] + mean[c]) * 255)));
                        img.setRGB(x, y, rgb);
                        lbl.getRaster().setSample(x, y, 0, sample.label()[p]);
                    }
                }
                String stem = "bench_" + String.format("%06d", i) + "_000019";
                Path dir = Files.createDirectories(root.resolve("leftImg8bit/train/bench"));
                Path gt = Files.createDirectories(root.resolve("gtFine/train/bench"));
                ImageIO.write(img, "png", dir.resolve(stem + "_leftImg8bit.png").toFile());
                ImageIO.write(lbl, "png", gt.resolve(stem + "_gtFine_labelTrainIds.png").toFile());
            }
        }
    }
}
