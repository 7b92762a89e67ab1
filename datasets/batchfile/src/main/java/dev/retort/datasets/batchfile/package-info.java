/**
 * The {@code batch-file} dataset: recorded batches ({@code images.<t>}, {@code labels.<t>} of a safetensors file)
 * replayed in their order, without shuffling or augmentation, for exact comparisons with another implementation and
 * for debugging a run on the batches that broke it.
 */
package dev.retort.datasets.batchfile;
