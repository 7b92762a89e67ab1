package dev.retort.runner.teachercache;

import java.io.IOException;
import java.util.Set;

/** Where cached batches live: in this JVM or in a folder. */
interface Store extends AutoCloseable {
    /**
     * The entry of a batch, with the taps of {@code taps} it holds (null: all it holds); null when it has none.
     *
     * @throws IOException when an entry exists but cannot be read
     */
    Entry read(String shard, Set<String> taps) throws IOException;

    /** Stores (or replaces) a batch's entry; false, storing nothing, when the cache's limit does not allow it. */
    boolean write(String shard, Entry entry) throws IOException;

    /** Bytes in use now and the limit, for messages. */
    long used();

    long limit();

    /** Where it is, for messages. */
    String where();

    /** Batches it holds now. */
    int entries();

    @Override
    void close();
}
