package dev.retort.api.data;

/**
 * One decoded sample, in plain arrays so that loaders can fill them on worker threads without an NDManager.
 *
 * @param id          stable identifier (e.g. the file stem)
 * @param height      image height
 * @param width       image width
 * @param image       CHW, 3 channels, float (values as the protocol defines: [0,1] or normalised)
 * @param labelHeight label height (may be a fraction of the image's, e.g. 1/4)
 * @param labelWidth  label width
 * @param label       row-major class indices; ignored pixels carry {@link DatasetInfo#ignoreClass()}
 */
public record Sample(String id, int height, int width, float[] image, int labelHeight, int labelWidth, int[] label) {
    public Sample {
        if (image.length != 3 * height * width) {
            throw new IllegalArgumentException(id + ": image has " + image.length + " values for 3x" + height + "x" + width);
        }
        if (label.length != labelHeight * labelWidth) {
            throw new IllegalArgumentException(id + ": label has " + label.length + " values for " + labelHeight + "x" + labelWidth);
        }
    }
}
