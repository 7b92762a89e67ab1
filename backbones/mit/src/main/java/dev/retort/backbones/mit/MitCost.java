package dev.retort.backbones.mit;

import dev.retort.api.backbone.ModelCost;
import dev.retort.api.tap.TapNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts parameters and multiply-accumulates of a SegFormer analytically, by mmcv's conventions (see
 * {@link ModelCost}); at 3×512×1024 with 20 classes this gives 3.72 M / 13.67 G for B0 and 27.36 M / 113.84 G for B2.
 */
final class MitCost {
    private long params;
    private long macs;

    private MitCost() {}

    static ModelCost of(MitConfig c, int height, int width) {
        if (c.extent(c.stages() - 1, height) < 1 || c.extent(c.stages() - 1, width) < 1) {
            throw new IllegalArgumentException(c.variant() + ": input " + height + "x" + width + " is too small");
        }
        List<ModelCost.Part> parts = new ArrayList<>();
        Map<String, long[]> taps = new LinkedHashMap<>();
        int in = c.inChannels();
        long inH = height, inW = width;
        for (int s = 0; s < c.stages(); s++) {
            MitCost m = new MitCost();
            int ch = c.embedDims()[s], k = c.patchSizes()[s];
            long h = c.extent(s, height), w = c.extent(s, width), n = h * w;
            taps.put(TapNames.inputs(s + 1), new long[] {1, in, inH, inW});
            m.conv(n, ch, (long) k * k * in, true);
            m.norm(n * ch, ch);
            taps.put(TapNames.embeds(s + 1), new long[] {1, n, ch});
            int hidden = ch * c.mlpRatios()[s], sr = c.srRatios()[s];
            for (int j = 0; j < c.depths()[s]; j++) {
                m.norm(n * ch, ch);
                m.linear(n, ch, ch);
                long kvTokens = n;
                if (sr > 1) {
                    kvTokens = ((h - sr) / sr + 1) * ((w - sr) / sr + 1);
                    m.conv(kvTokens, ch, (long) sr * sr * ch, true);
                    m.norm(kvTokens * ch, ch);
                }
                m.linear(kvTokens, ch, 2L * ch);
                m.linear(n, ch, ch);
                m.norm(n * ch, ch);
                m.linear(n, ch, hidden);
                m.conv(n, hidden, 9, true);
                m.linear(n, hidden, ch);
            }
            m.norm(n * ch, ch);
            taps.put(TapNames.features(s + 1), new long[] {1, ch, h, w});
            parts.add(new ModelCost.Part("stage " + (s + 1), m.params, m.macs));
            in = ch;
            inH = h;
            inW = w;
        }
        MitCost head = new MitCost();
        int e = c.decoderDim();
        long n1 = c.extent(0, height) * c.extent(0, width);
        for (int s = 0; s < c.stages(); s++) head.linear(c.extent(s, height) * c.extent(s, width), c.embedDims()[s], e);
        head.conv(n1, e, (long) e * c.stages(), false);
        head.norm(n1 * e, e);
        head.macs += n1 * e;  // ReLU
        head.conv(n1, c.classes(), e, true);
        parts.add(new ModelCost.Part("head", head.params, head.macs));
        taps.put(TapNames.LOGITS, new long[] {1, c.classes(), c.extent(0, height), c.extent(0, width)});
        return new ModelCost(c.variant(), height, width, parts, taps);
    }

    /** Conv producing {@code positions × out} values, each a dot product of {@code perOutput} inputs. */
    private void conv(long positions, long out, long perOutput, boolean bias) {
        params += out * perOutput + (bias ? out : 0);
        macs += positions * out * perOutput + (bias ? positions * out : 0);
    }

    /** Linear over {@code tokens} tokens; mmcv does not count its bias. */
    private void linear(long tokens, long in, long out) {
        params += in * out + out;
        macs += tokens * in * out;
    }

    /** Affine norm over {@code elements} values with {@code channels} γ and β. */
    private void norm(long elements, long channels) {
        params += 2 * channels;
        macs += 2 * elements;
    }
}
