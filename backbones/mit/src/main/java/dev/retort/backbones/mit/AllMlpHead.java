package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import dev.retort.backbones.mit.Layers.BatchNorm;
import dev.retort.backbones.mit.Layers.Conv;
import dev.retort.backbones.mit.Layers.Linear;
import dev.retort.nn.Init;
import dev.retort.nn.ArrayScope;
import dev.retort.nn.Ops;
import java.util.ArrayList;
import java.util.List;

/**
 * SegFormer's all-MLP decode head: per stage a linear to E channels, bilinear up to stage 1's size, concatenated
 * deepest first, fused by a 1×1 conv + BatchNorm + ReLU, Dropout2d, then a 1×1 classifier. PyTorch's default
 * initialisation (the reference's init hook ran before the head was built); the fuse conv is mmcv's ConvModule
 * (kaiming normal over fan-out, no bias).
 */
final class AllMlpHead extends Block {
    private final List<Linear> linears = new ArrayList<>();
    private final Conv fuse, pred;
    private final BatchNorm bn;
    private final long decoderDim;
    private final double dropout;

    AllMlpHead(int[] dims, int decoderDim, int classes, double dropout) {
        this.decoderDim = decoderDim;
        this.dropout = dropout;
        for (int s = 0; s < dims.length; s++) {
            Init init = Init.pytorchDefault(dims[s]);
            linears.add(child("linear_c" + (s + 1) + ".proj", new Linear(dims[s], decoderDim, init, init)));
        }
        fuse = child("linear_fuse.conv", new Conv(decoderDim * dims.length, decoderDim, 1, 1, 0, 1, Init.kaimingNormalFanOut(decoderDim), null));
        bn = child("linear_fuse.bn", new BatchNorm(decoderDim));
        Init init = Init.pytorchDefault(decoderDim);
        pred = child("linear_pred", new Conv(decoderDim, classes, 1, 1, 0, 1, init, init));
    }

    /** Logits at stage 1's size from the stage maps (stage 1 first). */
    NDArray forward(List<NDArray> features, boolean training) {
        NDArray first = features.get(0);
        long h1 = first.getShape().get(2), w1 = first.getShape().get(3);
        // each array is released once the next one is made from it (a graph keeps what its backward needs)
        try (ArrayScope scope = ArrayScope.over(features)) {
            NDList branches = new NDList();
            for (int s = features.size() - 1; s >= 0; s--) {
                NDArray f = features.get(s);
                long h = f.getShape().get(2), w = f.getShape().get(3);
                try (ArrayScope branch = ArrayScope.over(f)) {
                    NDArray projected = Ops.tokensToMap(linears.get(s).forward(Ops.mapToTokens(f)), h, w);
                    branches.add(branch.keep(Ops.resizeBilinear(projected, h1, w1)));
                }
            }
            NDArray concat = NDArrays.concat(branches, 1);
            branches.forEach(NDArray::close);
            NDArray fusedConv = fuse.forward(concat);
            concat.close();
            NDArray normed = bn.forward(fusedConv, training);
            fusedConv.close();
            NDArray fused = Activation.relu(normed);
            normed.close();
            return scope.keep(pred.forward(Ops.dropout2d(fused, dropout, training)));
        }
    }

    /** For stage maps of the given {height, width} (stage 1 first); resizing is not counted, the ReLU is (mmcv). */
    long macs(List<long[]> sizes) {
        long macs = 0;
        for (int s = 0; s < sizes.size(); s++) macs += linears.get(s).macs(sizes.get(s)[0] * sizes.get(s)[1]);
        long positions = sizes.get(0)[0] * sizes.get(0)[1];
        return macs + fuse.macs(positions) + bn.macs(positions) + positions * decoderDim + pred.macs(positions);
    }
}
