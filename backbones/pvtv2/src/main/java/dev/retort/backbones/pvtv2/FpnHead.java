package dev.retort.backbones.pvtv2;

import ai.djl.ndarray.NDArray;
import dev.retort.nn.Init;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.List;

/**
 * The Semantic FPN head (mmseg {@code FPNHead} as TransKD builds it): level i (stride 4·2^i) gets max(1, i) blocks of
 * [3×3 conv with bias + ReLU], each followed by a ×2 bilinear upsampling (align_corners false) except at level 0; the
 * levels are summed after a bilinear resize to level 0's size; Dropout2d; {@code conv_seg}, a 1×1 conv to the classes.
 * The logits stay at level 0's resolution. Conv j of level i is {@code scale_heads.i.(2j)} for i > 0 (the upsamplings
 * hold the odd indices of the reference's Sequential) and {@code scale_heads.0.0} at level 0.
 */
record FpnHead(String prefix, List<List<ConvModule>> scaleHeads, Conv convSeg, double dropout) implements Block {
    FpnHead {
        scaleHeads = scaleHeads.stream().map(List::copyOf).toList();
    }

    static FpnHead of(String prefix, int levels, int inChannels, int channels, int classes, double dropout) {
        List<List<ConvModule>> heads = new ArrayList<>();
        for (int i = 0; i < levels; i++) {
            List<ConvModule> convs = new ArrayList<>();
            for (int k = 0; k < Math.max(1, i); k++) {
                int index = i == 0 ? k : 2 * k;
                convs.add(new ConvModule(prefix + ".scale_heads." + i + "." + index, k == 0 ? inChannels : channels, channels, 3, true));
            }
            heads.add(convs);
        }
        // a plain nn.Conv2d: PyTorch's default initialisation, U(±1/√fan_in) for weight and bias
        Conv seg = new Conv(prefix + ".conv_seg", channels, classes, 1, 1, 0, 1, Init.pytorchDefault(channels), Init.pytorchDefault(channels));
        return new FpnHead(prefix, heads, seg, dropout);
    }

    @Override
    public void declare(ParameterSet p) {
        scaleHeads.forEach(convs -> convs.forEach(c -> c.declare(p)));
        convSeg.declare(p);
    }

    NDArray forward(ParameterSet p, List<NDArray> levels, boolean training) {
        NDArray out = scale(p, 0, levels.get(0));
        long h = out.getShape().get(2), w = out.getShape().get(3);
        for (int i = 1; i < scaleHeads.size(); i++) out = out.add(Ops.resizeBilinear(scale(p, i, levels.get(i)), h, w));
        return convSeg.forward(p, Ops.dropout2d(out, dropout, training));
    }

    private NDArray scale(ParameterSet p, int level, NDArray x) {
        for (ConvModule c : scaleHeads.get(level)) {
            x = c.forward(p, x);
            if (level > 0) x = Ops.resizeBilinear(x, 2 * x.getShape().get(2), 2 * x.getShape().get(3));
        }
        return x;
    }

    /** Cost for level maps of {@code positions[i]} positions each. */
    void cost(Tally t, long[] positions) {
        for (int i = 0; i < scaleHeads.size(); i++) {
            long n = positions[i];
            for (ConvModule c : scaleHeads.get(i)) {
                c.cost(t, n);
                if (i > 0) {
                    n *= 4;
                    t.upsample(n * c.conv().out());
                }
            }
        }
        convSeg.cost(t, positions[0]);
    }
}
