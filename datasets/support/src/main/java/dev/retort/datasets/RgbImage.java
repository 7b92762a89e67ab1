package dev.retort.datasets;

/** An 8-bit RGB image, planar (R plane, G plane, B plane), values 0..255. */
public record RgbImage(int width, int height, byte[] planes) {
    public RgbImage {
        if (planes.length != 3 * width * height) throw new IllegalArgumentException("RGB planes need 3x" + width + "x" + height + " bytes");
    }

    public int get(int channel, int x, int y) {
        return planes[(channel * height + y) * width + x] & 0xff;
    }
}
