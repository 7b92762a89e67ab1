package dev.retort.backbones.pvtv2;

/**
 * Parameters and multiply-accumulates of one part by mmcv's counting rules ({@code get_model_complexity_info}, the
 * convention of {@code ModelCost}): convolutions with their bias, linears without, 2 per element for affine norms,
 * 1 per element for ReLU, pooling (per input element) and {@code nn.Upsample} modules (per output element; the FPN
 * head's ×2 upsamplings are such modules, while {@code F.interpolate} calls are not counted). Attention matmuls,
 * softmax and GELU are not counted. {@link #weightMacs} keeps the conv and linear weight products alone, the count the
 * parity fixtures' README gives; {@link #attentionMacs} the attention products (Q·Kᵀ, attention·V) the convention leaves
 * out, for utilisation figures.
 */
final class Tally {
    long params;
    long macs;
    long weightMacs;
    long attentionMacs;

    /** A convolution producing {@code positions × out} values, each a dot product of {@code perOutput} inputs. */
    void conv(long positions, long out, long perOutput, boolean bias) {
        params += out * perOutput + (bias ? out : 0);
        weightMacs += positions * out * perOutput;
        macs += positions * out * perOutput + (bias ? positions * out : 0);
    }

    /** A linear with bias over {@code tokens} tokens; mmcv does not count its bias. */
    void linear(long tokens, long in, long out) {
        params += in * out + out;
        weightMacs += tokens * in * out;
        macs += tokens * in * out;
    }

    /** An affine norm over {@code elements} values with {@code channels} γ and β. */
    void norm(long elements, long channels) {
        params += 2 * channels;
        macs += 2 * elements;
    }

    /** Q·Kᵀ and attention·V of {@code tokens} queries over {@code keys} keys of {@code channels} (all heads). */
    void attention(long tokens, long keys, long channels) {
        attentionMacs += 2 * tokens * keys * channels;
    }

    void relu(long elements) {
        macs += elements;
    }

    void pool(long inputElements) {
        macs += inputElements;
    }

    void upsample(long outputElements) {
        macs += outputElements;
    }

    void add(Tally other) {
        params += other.params;
        macs += other.macs;
        weightMacs += other.weightMacs;
        attentionMacs += other.attentionMacs;
    }
}
