package dev.retort.datasets;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import javax.imageio.ImageIO;

/** Writes tiny images and label maps in the published layouts, for tests. */
public final class TinyData {
    private TinyData() {}

    /** The distinct values of a label map, sorted. */
    public static Set<Integer> values(int[] a) {
        Set<Integer> s = new TreeSet<>();
        for (int v : a) s.add(v);
        return s;
    }

    public static void rgb(Path file, int w, int h, int seed, String format) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, ((x * 7 + seed) & 0xff) << 16 | ((y * 5) & 0xff) << 8 | (seed * 31 & 0xff));
        write(img, file, format);
    }

    /** Greyscale label: value(x, y) from the function. */
    public static void grey(Path file, int w, int h, java.util.function.IntBinaryOperator value) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.getRaster().setSample(x, y, 0, value.applyAsInt(x, y));
        write(img, file, "png");
    }

    /** Palette label (as Pascal VOC): indices from the function, colours from a palette unrelated to the indices. */
    public static void palette(Path file, int w, int h, java.util.function.IntBinaryOperator index) throws IOException {
        byte[] r = new byte[256], g = new byte[256], b = new byte[256];
        for (int i = 0; i < 256; i++) {
            r[i] = (byte) (255 - i);
            g[i] = (byte) (i * 3);
            b[i] = (byte) (i * 7);
        }
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 256, r, g, b));
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.getRaster().setSample(x, y, 0, index.applyAsInt(x, y));
        write(img, file, "png");
    }

    private static void write(BufferedImage img, Path file, String format) throws IOException {
        Files.createDirectories(file.getParent());
        if (!ImageIO.write(img, format, file.toFile())) throw new IOException("no writer for " + format);
    }

    /** Cityscapes: 2 train images in city 'aachen' (trainIds) and 1 val image in 'lindau' with labelIds only. */
    public static Path cityscapes(Path root) throws IOException {
        for (int i = 0; i < 2; i++) {
            String stem = "aachen_00000" + i + "_000019";
            rgb(root.resolve("leftImg8bit/train/aachen/" + stem + "_leftImg8bit.png"), 64, 32, i, "png");
            grey(root.resolve("gtFine/train/aachen/" + stem + "_gtFine_labelTrainIds.png"), 64, 32, (x, y) -> y < 2 ? 255 : (x / 4) % 19);
        }
        String stem = "lindau_000000_000019";
        rgb(root.resolve("leftImg8bit/val/lindau/" + stem + "_leftImg8bit.png"), 64, 32, 9, "png");
        grey(root.resolve("gtFine/val/lindau/" + stem + "_gtFine_labelIds.png"), 64, 32, (x, y) -> x < 32 ? 7 : 26);  // road, car
        return root;
    }

    /**
     * A valid 1-bit greyscale PNG of {@code w} × {@code h} black pixels, written row by row through a deflater: a few
     * hundred KB on disk for an image whose decoded raster would need gigabytes (a decompression bomb).
     */
    public static void bomb(Path file, int w, int h) throws IOException {
        java.io.ByteArrayOutputStream idat = new java.io.ByteArrayOutputStream();
        try (java.util.zip.DeflaterOutputStream z = new java.util.zip.DeflaterOutputStream(idat, new java.util.zip.Deflater(9))) {
            byte[] row = new byte[1 + (w + 7) / 8];  // filter byte 0, then the bits
            for (int y = 0; y < h; y++) z.write(row);
        }
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 1).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(png, "IHDR", ihdr.array());
        chunk(png, "IDAT", idat.toByteArray());
        chunk(png, "IEND", new byte[0]);
        Files.createDirectories(file.getParent());
        Files.write(file, png.toByteArray());
    }

    private static void chunk(java.io.ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        crc.update(t);
        crc.update(data);
        out.write(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
        out.write(t);
        out.write(data);
        out.write(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
