package dev.retort.datasets.synthetic;

import dev.retort.datasets.CityscapesClasses;
import dev.retort.datasets.RgbImage;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Writes a few synthetic scenes and their coloured labels side by side: {@code java … SyntheticPreview <dir> [count]}. */
public final class SyntheticPreview {
    public static void main(String[] args) throws Exception {
        Path dir = Files.createDirectories(Path.of(args.length > 0 ? args[0] : "target/synthetic-preview"));
        int count = args.length > 1 ? Integer.parseInt(args[1]) : 4, w = 512, h = 256;
        for (int i = 0; i < count; i++) {
            int[] labels = new int[w * h];
            RgbImage img = CityPainter.paint(w, h, 1_000_000L + i, labels);
            BufferedImage out = new BufferedImage(2 * w, h, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    out.setRGB(x, y, img.get(0, x, y) << 16 | img.get(1, x, y) << 8 | img.get(2, x, y));
                    int l = labels[y * w + x];
                    out.setRGB(w + x, y, l < 19 ? CityscapesClasses.palette()[l] : 0);
                }
            }
            ImageIO.write(out, "png", dir.resolve("scene-" + i + ".png").toFile());
        }
        System.out.println("wrote " + count + " scenes to " + dir.toAbsolutePath());
    }
}
