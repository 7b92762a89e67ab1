package dev.retort.datasets;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Decoding of dataset images and label maps (PNG, JPEG) with errors that name the file. */
final class ImageFiles {
    private ImageFiles() {}

    static RgbImage readRgb(Path file) throws IOException {
        BufferedImage img = read(file);
        int w = img.getWidth(), h = img.getHeight();
        byte[] planes = new byte[3 * w * h];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x], i = y * w + x;
                planes[i] = (byte) (p >> 16);
                planes[w * h + i] = (byte) (p >> 8);
                planes[2 * w * h + i] = (byte) p;
            }
        }
        return new RgbImage(w, h, planes);
    }

    /**
     * A label map: the raw sample of band 0 — the grey value of a greyscale PNG, the palette index of a palette
     * PNG (never its colour, so Pascal VOC's palette labels read as class indices).
     */
    static LabelImage readLabel(Path file) throws IOException {
        BufferedImage img = read(file);
        Raster r = img.getRaster();
        if (r.getNumBands() != 1) {
            throw new IOException(file + ": a label map must have one channel (greyscale or palette), this one has " + r.getNumBands());
        }
        int w = img.getWidth(), h = img.getHeight();
        return new LabelImage(w, h, r.getSamples(0, 0, w, h, 0, (int[]) null));
    }

    private static BufferedImage read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such file");
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + ": unreadable or corrupt image (" + e.getMessage() + ")", e);
        }
        if (img == null) throw new IOException(file + ": not a readable PNG or JPEG image");
        return img;
    }
}
