package dev.retort.distill.glmixer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.Refinement;
import dev.retort.distill.support.ConfiguredModule;
import dev.retort.distill.support.LinearProjection;
import dev.retort.nn.Ops;
import dev.retort.nn.ParameterSet;
import dev.retort.nn.Scalars;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The built GL-Mixer: a refinement of PEA's input at one stage. {@code residual} applies in place; {@code stage} and
 * {@code heads} change the parameters, and {@code alpha}/{@code beta} are initial values of learnable parameters, so
 * a new value means starting again.
 */
final class GlMixerModule extends ConfiguredModule<GlMixerDistiller.Options> {
    private final int stage;
    private final int heads;
    private final LinearProjection qkv;
    private final LinearProjection proj;

    GlMixerModule(GlMixerDistiller distiller, ParameterSet params, GlMixerDistiller.Options options) {
        super(distiller, params, options);
        this.stage = options.stage();
        this.heads = options.heads();
        this.qkv = LinearProjection.of(params, attention(stage) + ".qkv");
        this.proj = LinearProjection.of(params, attention(stage) + ".proj");
    }

    /** Key prefix of the global branch's attention, as the reference names it. */
    static String attention(int stage) {
        return "attn" + stage;
    }

    @Override
    public List<Refinement> refinements() {
        return List.of(new Refinement() {
            @Override
            public String port() {
                return "pea.input." + stage;
            }

            @Override
            public NDArray apply(NDArray embedding, DistillStep step) {
                NDArray mixed = mix(embedding);
                step.record("glmixer.mixed." + stage, mixed);
                return mixed;
            }
        });
    }

    /** Ẽ = α·MHSA(E) + β·GLU1d(E) (+ E with the residual option). */
    NDArray mix(NDArray e) {
        NDArray mixed = global(e).mul(params.get("atten_weight")).add(local(e).mul(params.get("conv_weight")));
        return options().residual() ? mixed.add(e) : mixed;
    }

    /** Plain multi-head self-attention over the tokens, qkv without bias. */
    private NDArray global(NDArray x) {
        Shape s = x.getShape();
        long b = s.get(0), n = s.get(1), c = s.get(2), d = c / heads;
        NDArray qkv = this.qkv.forward(x).reshape(b, n, 3, heads, d).transpose(2, 0, 3, 1, 4);
        NDArray q = qkv.get(0), k = qkv.get(1), v = qkv.get(2);
        NDArray attn = Scalars.mul(Ops.matMul(q, k.transpose(0, 1, 3, 2)), Math.pow(d, -0.5)).softmax(-1);
        return proj.forward(Ops.matMul(attn, v).transpose(0, 2, 1, 3).reshape(b, n, c));
    }

    /** GLU over the token sequence (raster order): conv1(x) ⊙ sigmoid(conv2(x)), Conv1d k=3 pad 1. */
    private NDArray local(NDArray x) {
        NDArray seq = x.transpose(0, 2, 1);  // [B, C, N]
        NDArray a = Ops.conv1d(seq, params.get("conv1.weight"), params.get("conv1.bias"), 1, 1, 1);
        NDArray gate = Activation.sigmoid(Ops.conv1d(seq, params.get("conv2.weight"), params.get("conv2.bias"), 1, 1, 1));
        return a.mul(gate).transpose(0, 2, 1);
    }

    @Override
    public Optional<Set<String>> teacherTaps() {
        return Optional.of(Set.of());  // refines PEA's student side only
    }

    @Override
    public List<LossTerm> forward(DistillStep step) {
        return List.of();  // works through its refinement of PEA
    }
}
