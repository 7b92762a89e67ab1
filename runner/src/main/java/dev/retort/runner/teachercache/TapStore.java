package dev.retort.runner.teachercache;

/**
 * Where cached teacher taps are kept, as {@link TeacherTaps} accounts for it: the bytes its entries take against the
 * limit ({@code teacher.cache_limit}), where that is, and how many batches it holds. {@link MemoryStore} keeps the
 * teacher's own arrays in this JVM, {@link DiskStore} bf16 shards in a folder; what an entry holds differs, the
 * bookkeeping is this.
 */
sealed interface TapStore permits MemoryStore, DiskStore {
    /** Bytes the entries take (for the disk, every key's shards under the cache folder). */
    long used();

    /** Bytes the entries may take; an entry beyond it is not stored. */
    long limit();

    /** Where the entries are, for the run's log. */
    String where();

    /** Batches held. */
    int entries();
}
