package dev.retort.api.data;

import java.io.IOException;
import org.osgi.annotation.versioning.ConsumerType;

/** Random access to the samples of one opened split. Thread-safe: loaders call it from worker threads. */
@ConsumerType
public interface SampleSource extends AutoCloseable {
    /** Number of samples. */
    int size();

    DatasetInfo info();

    /**
     * Loads sample {@code index} with the augmentation drawn from {@code seed} (the same index and seed give the
     * same sample).
     */
    Sample get(int index, long seed) throws IOException;

    /**
     * Whether the samples must be visited in index order, every epoch: a source that replays recorded batches (no
     * shuffling, no augmentation) says so, and the runner then reads it in order.
     *
     * @since 2.1
     */
    default boolean fixedOrder() {
        return false;
    }

    /** Samples skipped so far because they could not be loaded (only under a skipping error policy). */
    default long skipped() {
        return 0;
    }

    @Override
    void close();
}
