package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.List;

/**
 * The FPN neck (mmdet/mmseg {@code FPN} with its defaults as TransKD uses it): per level a 1×1 lateral conv to the
 * neck width, a top-down path that adds each upper lateral, resized with PyTorch's {@code nearest} to the lower one's
 * size, to the lower one (upper levels first, so the sums accumulate), and a 3×3 output conv per level. Convs have a
 * bias and neither norm nor activation.
 */
record Fpn(String prefix, List<ConvModule> lateralConvs, List<ConvModule> fpnConvs) implements Block {
    Fpn {
        lateralConvs = List.copyOf(lateralConvs);
        fpnConvs = List.copyOf(fpnConvs);
    }

    static Fpn of(String prefix, int[] inChannels, int channels) {
        List<ConvModule> lateral = new ArrayList<>(), output = new ArrayList<>();
        for (int i = 0; i < inChannels.length; i++) {
            lateral.add(new ConvModule(prefix + ".lateral_convs." + i, inChannels[i], channels, 1, false));
            output.add(new ConvModule(prefix + ".fpn_convs." + i, channels, channels, 3, false));
        }
        return new Fpn(prefix, lateral, output);
    }

    @Override
    public void declare(ParameterSet p) {
        // the reference state dict: every lateral conv, then every output conv
        lateralConvs.forEach(c -> c.declare(p));
        fpnConvs.forEach(c -> c.declare(p));
    }

    List<NDArray> forward(ParameterSet p, List<NDArray> features) {
        int levels = lateralConvs.size();
        List<NDArray> laterals = new ArrayList<>();
        for (int i = 0; i < levels; i++) laterals.add(lateralConvs.get(i).forward(p, features.get(i)));
        for (int i = levels - 1; i > 0; i--) {
            NDArray lower = laterals.get(i - 1);
            laterals.set(i - 1, lower.add(Ops.resizeNearest(laterals.get(i), lower.getShape().get(2), lower.getShape().get(3))));
        }
        List<NDArray> outs = new ArrayList<>();
        for (int i = 0; i < levels; i++) outs.add(fpnConvs.get(i).forward(p, laterals.get(i)));
        return outs;
    }

    /** Cost for level maps of {@code positions[i]} positions each. */
    void cost(Tally t, long[] positions) {
        for (int i = 0; i < lateralConvs.size(); i++) {
            lateralConvs.get(i).cost(t, positions[i]);
            fpnConvs.get(i).cost(t, positions[i]);
        }
    }
}
