package dev.retort.api.data;

import java.util.List;
import java.util.Objects;

/**
 * Class metadata.
 *
 * @param name         dataset name
 * @param classes      class names of the evaluated classes, index = label value
 * @param ignoreClass  label value of ignored pixels as delivered in {@link Sample#label()} (e.g. 19 for the
 *                     TransKD Cityscapes protocol, where it is also an output channel with loss weight 0)
 * @param outputs      number of output channels the head needs (classes, plus one where the ignore class is
 *                     an output channel)
 * @param classWeights loss weight per output channel (length {@code outputs})
 * @param palette      RGB colour per class, 0xRRGGBB (length {@code classes.size()})
 * @param miou         how the mean IoU of this label space is averaged (since 2.0)
 */
public record DatasetInfo(String name, List<String> classes, int ignoreClass, int outputs, float[] classWeights, int[] palette,
                          MiouConvention miou) {
    public DatasetInfo {
        Objects.requireNonNull(miou, "miou");
        classes = List.copyOf(classes);
        classWeights = classWeights.clone();
        palette = palette.clone();
        if (classWeights.length != outputs) {
            throw new IllegalArgumentException(name + ": " + classWeights.length + " class weights for " + outputs + " outputs");
        }
        if (palette.length != classes.size()) {
            throw new IllegalArgumentException(name + ": " + palette.length + " palette entries for " + classes.size() + " classes");
        }
    }

    @Override
    public float[] classWeights() {
        return classWeights.clone();
    }

    @Override
    public int[] palette() {
        return palette.clone();
    }
}
