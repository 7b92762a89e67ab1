/**
 * Evaluation: a confusion matrix per split and per sample group, IoU and mean IoU under the dataset's
 * {@link dev.retort.api.data.MiouConvention}, and a network's predictions at the labels' resolution. Private to the
 * runner bundle.
 */
package dev.retort.runner.eval;
