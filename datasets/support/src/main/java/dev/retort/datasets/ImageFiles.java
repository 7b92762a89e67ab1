package dev.retort.datasets;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decoding of dataset images and label maps (PNG, JPEG) with errors that name the file. An image's size is read from
 * its header first and one of more than {@link #MAX_PIXELS} pixels is refused before it is decoded.
 */
final class ImageFiles {
    /** The most pixels an image may have (Pillow's {@code MAX_IMAGE_PIXELS}; a Cityscapes frame has 2,097,152). */
    static final long MAX_PIXELS = 89_478_485L;

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
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) throw new IOException(file + ": not a readable PNG or JPEG image");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                // the size from the header, before anything is decoded: a small file can claim a huge image
                long w = reader.getWidth(0), h = reader.getHeight(0);
                if (w <= 0 || h <= 0 || w * h > MAX_PIXELS) {
                    throw new IOException(String.format("%s: %d × %d = %,d pixels is more than an image may have (%,d, as Pillow's"
                            + " MAX_IMAGE_PIXELS): refused before decoding (a decompression bomb, or not a dataset image)", file, w, h, w * h, MAX_PIXELS));
                }
                return reader.read(0);
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().startsWith(file.toString())) throw e;
                throw new IOException(file + ": unreadable or corrupt image (" + e.getMessage() + ")", e);
            } catch (RuntimeException e) {
                throw new IOException(file + ": unreadable or corrupt image (" + e.getMessage() + ")", e);
            } finally {
                reader.dispose();
            }
        }
    }
}
