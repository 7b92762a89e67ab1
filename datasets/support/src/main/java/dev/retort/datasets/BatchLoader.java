package dev.retort.datasets;

import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Loads the batches of one epoch on worker threads, at most {@code prefetch} batches ahead of the consumer, in
 * order. The sample order (a shuffle of the epoch seeded by (seed, epoch)) and every sample's augmentation seed
 * depend on the seed, the epoch and the position only, so the batches are identical whatever the thread count.
 */
public final class BatchLoader implements AutoCloseable {
    private final SampleSource source;
    private final int batchSize;
    private final boolean dropLast;
    private final int prefetch;
    private final ExecutorService workers;

    public BatchLoader(SampleSource source, int batchSize, boolean dropLast, int threads, int prefetch) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be > 0, got " + batchSize);
        this.source = source;
        this.batchSize = batchSize;
        this.dropLast = dropLast;
        this.prefetch = Math.max(1, prefetch);
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
            Thread t = new Thread(r, "retort-loader-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Batches in one epoch. */
    public int batches() {
        int n = source.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** The sample order of an epoch: a seeded shuffle, or the identity when {@code shuffle} is false. */
    public int[] order(long seed, int epoch, boolean shuffle) {
        int[] order = new int[source.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        if (shuffle) {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003L + epoch);
            for (int i = order.length - 1; i > 0; i--) {
                int j = r.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    /** Iterates one epoch's batches, starting at batch {@code first} (to resume mid-epoch). */
    public Epoch epoch(long seed, int epoch, boolean shuffle, int first) {
        return new Epoch(order(seed, epoch, shuffle), seed * 31 + epoch, first);
    }

    /** The batches of one epoch, produced ahead by the workers. */
    public final class Epoch implements AutoCloseable {
        private final int[] order;
        private final long sampleSeed;
        private final Deque<Future<Batch>> pending = new ArrayDeque<>();
        private int next;

        private Epoch(int[] order, long sampleSeed, int first) {
            this.order = order;
            this.sampleSeed = sampleSeed;
            this.next = first;
            fill();
        }

        public boolean hasNext() {
            return !pending.isEmpty();
        }

        /** The next batch, waiting for it if the workers are behind; a loading error is rethrown here. */
        public Batch next() throws IOException {
            Future<Batch> f = pending.removeFirst();
            fill();
            try {
                return f.get();
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
                if (cause instanceof IOException io) throw io;
                if (cause instanceof RuntimeException re) throw re;
                throw new IOException(cause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for data", e);
            }
        }

        private void fill() {
            while (pending.size() < prefetch && next < batches()) {
                int b = next++;
                pending.addLast(workers.submit(() -> load(b)));
            }
        }

        private Batch load(int b) throws IOException {
            int start = b * batchSize, end = Math.min(order.length, start + batchSize);
            List<Sample> samples = new ArrayList<>();
            for (int i = start; i < end; i++) samples.add(source.get(order[i], sampleSeed + i));
            Sample s0 = samples.get(0);
            float[] images = new float[samples.size() * s0.image().length];
            int[] labels = new int[samples.size() * s0.label().length];
            List<String> ids = new ArrayList<>();
            for (int k = 0; k < samples.size(); k++) {
                Sample s = samples.get(k);
                if (s.height() != s0.height() || s.width() != s0.width() || s.labelHeight() != s0.labelHeight()) {
                    throw new IOException("batch " + b + ": " + s.id() + " is " + s.height() + "x" + s.width() + " but " + s0.id() + " is "
                            + s0.height() + "x" + s0.width() + "; samples of one batch must have one size (use the transkd protocol or a crop)");
                }
                System.arraycopy(s.image(), 0, images, k * s0.image().length, s0.image().length);
                System.arraycopy(s.label(), 0, labels, k * s0.label().length, s0.label().length);
                ids.add(s.id());
            }
            return new Batch(b, ids, s0.height(), s0.width(), images, s0.labelHeight(), s0.labelWidth(), labels);
        }

        @Override
        public void close() {
            pending.forEach(f -> f.cancel(true));
            pending.clear();
        }
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }

    @Override
    public String toString() {
        return "BatchLoader[" + source.size() + " samples, batch " + batchSize + ", prefetch " + prefetch + "]";
    }
}
