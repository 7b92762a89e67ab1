package dev.retort.runner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.retort.datasets.Batch;
import dev.retort.nn.HostTransfers;

/** A batch as tensors in a step's scope: images N×3×H×W (float) and labels N×h×w (int64); two uploads. */
record BatchTensors(Batch batch, NDArray images, NDArray labels) {
    static BatchTensors of(Batch batch, NDManager scope) {
        NDArray images = HostTransfers.upload(scope, batch.images(), new Shape(batch.size(), 3, batch.height(), batch.width()));
        long[] labelValues = new long[batch.labels().length];
        for (int i = 0; i < labelValues.length; i++) labelValues[i] = batch.labels()[i];
        NDArray labels = HostTransfers.upload(scope, labelValues, new Shape(batch.size(), batch.labelHeight(), batch.labelWidth()));
        return new BatchTensors(batch, images, labels);
    }
}
