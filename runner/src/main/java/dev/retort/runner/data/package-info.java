/**
 * The data side of a run as the runner reads it: {@link dev.retort.runner.data.DataPlan}, the one statement of
 * which splits a run opens and how (augmentation, protocol), read by the training loop, its evaluations, a
 * checkpoint's evaluation and the teacher-output cache key. Private to the runner bundle.
 */
package dev.retort.runner.data;
