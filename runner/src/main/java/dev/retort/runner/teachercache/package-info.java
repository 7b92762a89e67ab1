/**
 * The teacher-output cache ({@code teacher.cache = off | memory | disk}): the frozen teacher's taps that a run's
 * modules read, computed once per (sample, augmentation draw) and reused by later epochs' identical draws, by runs
 * started again and by the other arms of an ablation pointed at the same folder. Entries are keyed by the teacher's
 * weights (their content), the data and its order, the device and the storage precision ({@code CacheKey}); a run's
 * miss and its hit give the modules the very same values ({@code TeacherTaps}). Both stores account for their
 * entries alike ({@code TapStore}: bytes used against the limit, where, how many). The disk store writes one bf16
 * safetensors shard per batch, atomically, so concurrent writers never leave a partial shard ({@code DiskStore}).
 * Also the one place where a network's weights are hashed ({@code WeightDigest}). Private to the runner bundle.
 */
package dev.retort.runner.teachercache;
