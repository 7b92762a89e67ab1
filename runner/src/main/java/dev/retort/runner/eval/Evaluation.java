package dev.retort.runner.eval;

import dev.retort.api.data.MiouConvention;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.tap.TapNames;
import dev.retort.nn.Ops;
import dev.retort.datasets.Batch;
import dev.retort.datasets.BatchLoader;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * A network in evaluation mode over a split: arg-max of the logits (upsampled bilinearly when the labels are
 * larger, as the standard protocol's full-resolution labels) against the labels, per split and per sample group
 * (ids {@code group/…}, e.g. ACDC's conditions).
 */
public final class Evaluation {
    public record Result(ConfusionMatrix all, Map<String, ConfusionMatrix> groups) {
        public String table(DatasetInfo info, MiouConvention mode) {
            StringBuilder t = new StringBuilder(all.table(info.classes(), mode));
            groups.forEach((g, m) -> t.append(String.format("  %-16s %8.2f%n", "mIoU " + g, 100 * m.meanIou(mode))));
            return t.toString();
        }
    }

    private Evaluation() {}

    /** Evaluates at most {@code limit} batches (0 = all) of the loader's split, in order. */
    public static Result run(SegmentationNetwork net, BatchLoader loader, DatasetInfo info, NDManager manager, int limit) throws IOException {
        ConfusionMatrix all = new ConfusionMatrix(info.classes().size(), info.ignoreClass());
        Map<String, ConfusionMatrix> groups = new TreeMap<>();
        int n = limit > 0 ? Math.min(limit, loader.batches()) : loader.batches();
        try (BatchLoader.Epoch e = loader.epoch(0, 0, false, 0)) {
            for (int b = 0; b < n && e.hasNext(); b++) {
                Batch batch = e.next();
                int[] prediction = predict(net, batch, manager);
                all.add(prediction, batch.labels());
                int per = batch.labelHeight() * batch.labelWidth();
                for (int k = 0; k < batch.size(); k++) {
                    String id = batch.ids().get(k);
                    if (!id.contains("/")) continue;
                    groups.computeIfAbsent(id.substring(0, id.indexOf('/')), x -> new ConfusionMatrix(info.classes().size(), info.ignoreClass()))
                            .add(Arrays.copyOfRange(prediction, k * per, (k + 1) * per), Arrays.copyOfRange(batch.labels(), k * per, (k + 1) * per));
                }
            }
        }
        return new Result(all, groups);
    }

    /** The network produced NaN or infinite logits: its parameters (or running statistics) are not usable. */
    public static final class NonFiniteOutput extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        NonFiniteOutput(String message) {
            super(message);
        }
    }

    /**
     * Class predictions of one batch at the labels' resolution.
     *
     * @throws NonFiniteOutput when a logit is NaN or infinite: the arg-max of such logits would be a plausible but
     *                         meaningless prediction
     */
    public static int[] predict(SegmentationNetwork net, Batch batch, NDManager manager) {
        try (NDManager sm = manager.newSubManager()) {
            NDArray images = sm.create(batch.images(), new Shape(batch.size(), 3, batch.height(), batch.width()));
            NDArray logits = net.forward(images, false).get(TapNames.LOGITS);
            long bad = logits.isNaN().logicalOr(logits.isInfinite()).countNonzero().getLong();
            if (bad > 0) {
                throw new NonFiniteOutput(net.spec().variant() + " produced " + bad + " NaN or infinite logits on " + String.join(", ", batch.ids())
                        + ": its parameters or BatchNorm running statistics are not finite; no evaluation is possible");
            }
            if (logits.getShape().get(2) != batch.labelHeight() || logits.getShape().get(3) != batch.labelWidth()) {
                logits = Ops.resizeBilinear(logits, batch.labelHeight(), batch.labelWidth());
            }
            return logits.argMax(1).toType(DataType.INT32, false).toIntArray();
        }
    }
}
